"""The Flask application: JSON under /api/v1, one shell around the core library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Flask

from .. import memo
from ..public import Resolver
from ..publicip import PublicAddress
from ..site import Site
from ..uci import UciBackend
from . import errors, lang
from .service import EXTENSION, Service
from .views import blueprints

API_PREFIX = "/api/v1"
MAX_BODY = 1024 * 1024  # ubusd's largest message; nothing valid comes close


def create_app(
    config_dir: str | Path | None = None,
    *,
    backend: UciBackend | None = None,
    public: PublicAddress | None = None,
    resolve: Resolver | None = None,
    site: Site | None = None,
    doctor_system: Any = None,
    main_router: Any = None,
) -> Flask:
    """The API for the UCI files in `config_dir` (default $DUALNAT_CONFIG_DIR or /etc/config).

    The keyword arguments replace the parts that reach outside the config folder (for
    tests and the daemon): the Site (where apply writes, checks and reloads) or just its
    UCI backend, the public address discovery, the resolver of public_address, the
    machine the doctor examines, and who pushes to the main router (mainrouter.runner).
    """
    memo.enable()  # a long-running process: keep what LuCI asks about again (memo.py)
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = Service.build(
        config_dir,
        backend=backend,
        public=public,
        resolve=resolve,
        site=site,
        doctor_system=doctor_system,
        main_router=main_router,
    )
    api = Blueprint("api", __name__, url_prefix=API_PREFIX)
    for bp in blueprints():
        api.register_blueprint(bp)
    app.register_blueprint(api)
    lang.register(app)
    errors.register(app)
    return app
