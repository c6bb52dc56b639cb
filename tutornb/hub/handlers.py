"""The service's routes (under the service prefix, ``/services/tutornb/`` by default).

Every route needs a hub identity (a token, or the hub's OAuth cookie in a browser) with access to
this service; what it may do then depends on the hub's groups: any user sends and reads back their
own report, asks for a solution and calls the model; only a course's instructors read its reports
and its class view. Errors are JSON ``{code, message}``; nothing from an exception's text is sent.
"""

from __future__ import annotations

import json
import logging
from http.client import responses
from typing import Any

from jupyterhub.services.auth import HubOAuthenticated
from tornado import web

from tutornb.course.ids import is_valid_id
from tutornb.hub.classpage import live_page, live_view
from tutornb.hub.modelproxy import ProxyRefused
from tutornb.hub.reportstore import ReportRejected, parse_upload
from tutornb.hub.state import ServiceState
from tutornb.instructor.reports.exchange import render_report
from tutornb.version import __version__

log = logging.getLogger("tutornb.hub")
STATE = "tutornb_hub_state"
#: A stand-in for the hub's identity (benchmarks only): ``handler -> user model | None``.
IDENTIFY = "tutornb_hub_identify"


class Refused(web.HTTPError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status)
        self.code, self.message = code, message


class ServiceHandler(HubOAuthenticated, web.RequestHandler):  # type: ignore[misc]
    @property
    def state(self) -> ServiceState:
        state: ServiceState = self.settings[STATE]
        return state

    def get_current_user(self) -> Any:
        identify = self.settings.get(IDENTIFY)
        if identify is not None:
            return identify(self)
        return super().get_current_user()

    def user_name(self) -> str:
        user = self.current_user
        if not user:
            raise Refused(403, "FORBIDDEN", "sign in through the hub, or send a hub token")
        if user.get("kind", "user") != "user":
            raise Refused(403, "FORBIDDEN", "only hub users act here, not services")
        return str(user["name"])

    def course(self, course_id: str) -> str:
        if not is_valid_id(course_id):
            raise Refused(400, "INVALID_REQUEST", "not a valid course id")
        return course_id

    async def instructor(self, course_id: str) -> str:
        name = self.user_name()
        if not await self.state.membership.teaches(name, course_id):
            raise Refused(403, "FORBIDDEN", f"only the instructors of {course_id} may read this")
        return name

    def send_json(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(payload, ensure_ascii=False))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, Refused):
            payload = {"code": exc.code, "message": exc.message}
        elif status_code >= 500:
            log.error("tutornb-hub: %s failed (%s)", type(self).__name__, type(exc).__name__)
            payload = {"code": "INTERNAL_ERROR", "message": "The service could not complete this request."}
        else:
            payload = {"code": "FORBIDDEN" if status_code == 403 else "HTTP_ERROR",
                       "message": responses.get(status_code, "error")}  # fmt: skip
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(payload))


class InfoHandler(ServiceHandler):
    async def get(self) -> None:
        self.send_json({"service": "tutornb-hub", "version": __version__, "user": self.user_name()})


class ReportsHandler(ServiceHandler):
    async def post(self, course_id: str) -> None:
        """A learner's own report; the sender's hub name replaces whatever name it carries."""
        course, author = self.course(course_id), self.user_name()
        try:
            report = parse_upload(self.request.body)
            stored = await self.state.reports.put(course, author, report)
        except ReportRejected as exc:
            raise Refused(400, "INVALID_REPORT", str(exc)) from None
        self.send_json({"learner": stored.learner, "course_id": course}, status=201)

    async def get(self, course_id: str) -> None:
        course = self.course(course_id)
        await self.instructor(course)
        reports = [json.loads(render_report(r)) for r in self.state.reports.course(course)]
        self.send_json({"course_id": course, "reports": reports})


class OwnReportHandler(ServiceHandler):
    async def get(self, course_id: str) -> None:
        course, name = self.course(course_id), self.user_name()
        report = self.state.reports.get(course, name)
        if report is None:
            raise Refused(404, "NOT_FOUND", "you have not shared a report for this course")
        self.send_json(json.loads(render_report(report)))


class ClassHandler(ServiceHandler):
    async def get(self, course_id: str, as_json: str | None) -> None:
        if not self.current_user and not as_json:
            self.redirect(self.get_login_url())  # a browser: sign in through the hub first
            return
        course = self.course(course_id)
        await self.instructor(course)
        try:
            min_group = max(1, int(self.get_query_argument("min_group", str(self.state.min_group_size))))
        except ValueError:
            raise Refused(400, "INVALID_REQUEST", "min_group must be a whole number") from None
        material = self.state.material.courses_dir / course
        view = live_view(self.state.reports.course(course), course, min_group, material)
        if as_json:
            self.send_json(view.model_dump(mode="json"))
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        self.finish(live_page(view))


class SolutionHandler(ServiceHandler):
    async def post(self, course_id: str, exercise_id: str) -> None:
        """Whether the solution may be shown now, and (only then) the solution."""
        course, name = self.course(course_id), self.user_name()
        if not is_valid_id(exercise_id):
            raise Refused(400, "INVALID_REQUEST", "not a valid exercise id")
        teaches = await self.state.membership.teaches(name, course)
        decision = self.state.material.decide(course, exercise_id, name, instructor=teaches)
        self.send_json(decision.public())


class PolicyHandler(ServiceHandler):
    async def get(self, course_id: str) -> None:
        course, name = self.course(course_id), self.user_name()
        policy = self.state.material.policy(course).model_dump(mode="json")
        if not await self.state.membership.teaches(name, course):
            policy.pop("instructions", None)  # the instructor's words to the model, not the learner's
        self.send_json(policy)


class ModelHandler(ServiceHandler):
    async def post(self, course_id: str | None) -> None:
        name = self.user_name()
        course = self.course(course_id) if course_id else "-"
        proxy = self.state.proxy
        try:
            payload, call = proxy.admit(name, course, self.request.body)
        except ProxyRefused as exc:
            raise Refused(exc.status, exc.code, exc.message) from None
        started = False
        try:
            async for status, piece in proxy.forward(call, payload):
                if not started:
                    self.set_status(status)
                    self.set_header("Content-Type", "text/event-stream" if payload.get("stream")
                                    else "application/json")  # fmt: skip
                    self.set_header("Cache-Control", "no-store")
                    started = True
                self.write(piece)
                await self.flush()
        except Exception as exc:
            log.warning("tutornb-hub: model call failed (%s)", type(exc).__name__)
            if not started:
                raise Refused(502, "MODEL_UNAVAILABLE", "the model service could not be reached") from None
        self.finish()
