"""``tutornb-hub``: the tornado application and its command line.

Run by the hub (``c.JupyterHub.services = [{"name": "tutornb", "command": ["tutornb-hub"], ...}]``),
which hands it ``JUPYTERHUB_API_TOKEN``, ``JUPYTERHUB_SERVICE_URL``, ``JUPYTERHUB_SERVICE_PREFIX``
and its OAuth client; or run it yourself with those variables set (an external service). See
docs/instructors.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from jupyterhub.utils import url_path_join
from tornado import web

from tutornb.hub.handlers import (
    STATE,
    ClassHandler,
    InfoHandler,
    ModelHandler,
    OwnReportHandler,
    PolicyHandler,
    ReportsHandler,
    SolutionHandler,
)
from tutornb.hub.membership import Membership
from tutornb.hub.reportstore import private_umask
from tutornb.hub.settings import HubServiceSettings, SettingsError, load_settings
from tutornb.hub.state import ServiceState, open_state

_COURSE = r"(?P<course_id>[^/]+)"


def routes(prefix: str) -> list[tuple[str, type[web.RequestHandler]]]:
    table: list[tuple[str, type[web.RequestHandler]]] = [
        ("", InfoHandler),
        (rf"courses/{_COURSE}/reports", ReportsHandler),
        (rf"courses/{_COURSE}/reports/mine", OwnReportHandler),
        (rf"courses/{_COURSE}/class(?P<as_json>\.json)?", ClassHandler),
        (rf"courses/{_COURSE}/exercises/(?P<exercise_id>[^/]+)/solution", SolutionHandler),
        (rf"courses/{_COURSE}/policy", PolicyHandler),
        (rf"(?:courses/{_COURSE}/)?v1/chat/completions", ModelHandler),
    ]
    return [(url_path_join(prefix, path) if path else prefix, handler) for path, handler in table]


def make_app(state: ServiceState, hub_auth: HubOAuth | None, prefix: str, **settings: Any) -> web.Application:
    handlers: list[Any] = list(routes(prefix))
    if hub_auth is not None:
        handlers.append((url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler))
    app_settings: dict[str, Any] = {
        "hub_auth": hub_auth,
        "cookie_secret": os.urandom(32),
        STATE: state,
        **settings,
    }
    return web.Application(handlers, **app_settings)


async def serve(settings: HubServiceSettings) -> None:
    private_umask()
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/tutornb/")
    hub_auth = HubOAuth(api_token=os.environ["JUPYTERHUB_API_TOKEN"], cache_max_age=60)
    membership = Membership(
        hub_auth.api_url,
        hub_auth.api_token,
        settings.instructor_group_prefix,
        settings.group_cache_seconds,
    )
    state = open_state(settings, membership)
    url = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
    app = make_app(state, hub_auth, prefix)
    app.listen(url.port or 80, url.hostname or "127.0.0.1", xheaders=True)
    print(f"tutornb-hub: serving {prefix} on {url.hostname}:{url.port}", file=sys.stderr)
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tutornb-hub", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="JSON settings file (default: $TUTORNB_HUB_CONFIG)")
    args = parser.parse_args(argv)
    if not os.environ.get("JUPYTERHUB_API_TOKEN"):
        print("tutornb-hub: JUPYTERHUB_API_TOKEN is not set: run it as a JupyterHub service", file=sys.stderr)
        return 2
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"tutornb-hub: {exc}", file=sys.stderr)
        return 2
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
