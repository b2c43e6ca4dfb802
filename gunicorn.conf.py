"""gunicorn settings for `make run` and the image; they live in the package (lobstr_dash/ops/gunicorn_conf.py)
so that `lobstr-dash serve` from an installed wheel runs with the very same ones."""

from lobstr_dash.ops.gunicorn_conf import *  # noqa: F403
