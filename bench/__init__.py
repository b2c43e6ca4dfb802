"""`make bench`: the dashboard's performance figures, measured over real HTTP against the fake."""
