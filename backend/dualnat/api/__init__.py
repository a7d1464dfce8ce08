"""The HTTP/JSON API (Flask): ``create_app(config_dir=...)``, endpoints under /api/v1.

    GET  /status                    summary; never an error status
    GET  /config   PUT /config      the settings (config dualnat 'main')
    GET  /forwards POST /forwards   every forward / create one
    GET|PUT|DELETE /forwards/<id>   one forward (id = section name, [a-z0-9_]{1,32})
    GET  /plan  /main-router  /doctor
    GET  /instructions?vendor=&lang=&format=
    POST /apply  /revert            body {"dry_run": bool} (optional)

Errors: ``{"errors": {"field": ["message", ...]}}`` with 400 (unreadable request),
404, 409 (/etc/config/dualnat unreadable or invalid), 422 (invalid values, nothing
written) or 500.
"""

from .app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
