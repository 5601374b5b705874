"""Admin pages for courses and their sessions."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.accounts.permissions import admin_required
from app.catalog import service
from app.catalog.forms import CourseForm, SessionForm
from app.catalog.models import CampSession, Course
from app.common.errors import DomainError
from app.common.forms import show_error_on_form
from app.common.time import from_local_input, to_local_input
from app.extensions import db

bp = Blueprint("catalog_admin", __name__, url_prefix="/admin/courses")

_TIME_FIELDS = ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at", "cancellation_deadline")


@bp.before_request
@admin_required
def _admins_only() -> None:
    """Every page of this blueprint is for admins."""


def _course_fields(form: CourseForm) -> dict:
    fields = {name: getattr(form, name).data for name in service.COURSE_FIELDS if name in form}
    for name in ("hours_of_study", "refund_partial_percent"):
        if name in fields and fields[name] is None:
            del fields[name]  # left empty: the course keeps (or gets) the default (24 hours, 50 %)
    return fields


def _session_fields(form: SessionForm) -> dict:
    fields = {name: getattr(form, name).data for name in service.SESSION_FIELDS if name in form}
    for name in _TIME_FIELDS:
        fields[name] = from_local_input(fields[name])
    minutes = form.payment_hold_minutes.data
    fields["payment_hold_seconds"] = minutes * 60 if minutes else None
    if fields.get("max_group_size") is None:
        fields.pop("max_group_size", None)  # left empty: the session keeps (or gets) its limit (5)
    return fields


@bp.route("/")
def courses():
    all_courses = db.session.scalars(
        select(Course).order_by(Course.id.desc()).options(selectinload(Course.sessions))
    ).all()
    return render_template("catalog/admin/courses.html", courses=all_courses)


@bp.route("/new", methods=["GET", "POST"])
def new_course():
    form = CourseForm()
    if form.validate_on_submit():
        try:
            course = service.create_course(**_course_fields(form))
        except DomainError as error:
            show_error_on_form(form, error)
        else:
            flash(_("课程已创建，现在可以添加场次"), "success")
            return redirect(url_for("catalog_admin.new_session", course_id=course.id))
    return render_template("catalog/admin/course_form.html", form=form, course=None)


@bp.route("/<int:course_id>/edit", methods=["GET", "POST"])
def edit_course(course_id: int):
    course = db.get_or_404(Course, course_id)
    form = CourseForm(obj=course)
    if form.validate_on_submit():
        try:
            service.update_course(course.id, **_course_fields(form))
        except DomainError as error:
            show_error_on_form(form, error)
        else:
            flash(_("课程已保存"), "success")
            return redirect(url_for("catalog_admin.courses"))
    return render_template("catalog/admin/course_form.html", form=form, course=course)


@bp.route("/<int:course_id>/sessions/new", methods=["GET", "POST"])
def new_session(course_id: int):
    course = db.get_or_404(Course, course_id)
    form = SessionForm()
    if form.validate_on_submit():
        fields = _session_fields(form)
        service.create_session(course.id, capacity=form.capacity.data, **fields)
        flash(_("场次已创建"), "success")
        return redirect(url_for("catalog_admin.courses"))
    return render_template("catalog/admin/session_form.html", form=form, course=course, camp=None)


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
def edit_session(session_id: int):
    camp = db.get_or_404(CampSession, session_id)
    form = SessionForm(obj=camp)
    if not form.is_submitted():
        for name in _TIME_FIELDS:
            getattr(form, name).data = to_local_input(getattr(camp, name))
        if camp.payment_hold_seconds:
            form.payment_hold_minutes.data = camp.payment_hold_seconds // 60
    if form.validate_on_submit():
        try:
            result = service.update_session(camp.id, capacity=form.capacity.data, actor=current_user,
                                            **_session_fields(form))
        except DomainError as error:
            show_error_on_form(form, error)
        else:
            flash(_("场次已保存"), "success")
            if result.promoted:
                names = "、".join(r.user.display_name for r in result.promoted)
                if result.session.is_paid:
                    flash(_("名额增加，已按顺序为候补学员保留名额，等待支付：%(names)s", names=names), "info")
                else:
                    flash(_("名额增加，已按顺序从候补转正：%(names)s", names=names), "info")
            return redirect(url_for("catalog_admin.courses"))
    return render_template("catalog/admin/session_form.html", form=form, course=camp.course, camp=camp)
