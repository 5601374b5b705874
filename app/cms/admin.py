"""The admins' CMS: article list, editor with live preview, uploads, revisions, publishing.

Each action parses its form, calls app/cms/service.py and redirects; a refusal is the service's
Chinese message next to the field it concerns, with everything the editor typed still there.
"""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    get_template_attribute,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.datastructures import FileStorage

from app.accounts.permissions import admin_required
from app.catalog.service import published_sessions, upcoming_published_sessions
from app.cms import admin_queries, editor, queries, rendering, service
from app.cms.admin_display import diff_sections, status_label
from app.cms.errors import ArticleChanged, BodyTooLong, ImageStoreUnavailable, ImageTooLarge, RevisionNotFound
from app.cms.forms import ArticleForm, list_filters, schedule_time_error
from app.cms.media import media_url, with_public_media
from app.cms.models import Article
from app.common.errors import DomainError
from app.common.forms import show_error_on_form
from app.common.pagination import page_number
from app.common.time import utcnow
from app.extensions import db

bp = Blueprint("cms_admin", __name__, url_prefix="/admin/articles")

@bp.before_request
@admin_required
def _admins_only() -> None:
    """Every page of this blueprint is for admins."""


@bp.context_processor
def _cms_admin_helpers() -> dict:
    return {"status_label": status_label}


# --- the list -------------------------------------------------------------------------------

@bp.route("/")
def articles():
    now = utcnow()
    filters = list_filters(request.args)
    page = admin_queries.article_page(filters, page_number(request.args), now)
    figures = {row.article_id: row for row in queries.article_figures([article.id for article in page.items])}
    return render_template(
        "cms/admin/articles.html",
        page=page, filters=filters, figures=figures, now=now,
        counts=admin_queries.status_counts(filters, now),
        columns=admin_queries.columns(), authors=admin_queries.author_names(),
    )


# --- the editor -----------------------------------------------------------------------------

def _article_or_404(article_id: int) -> Article:
    return db.get_or_404(Article, article_id)


def _editor_form(article: Article | None) -> ArticleForm:
    form = ArticleForm()
    form.offer_columns(admin_queries.columns())
    if article is not None and not form.is_submitted():
        form.fill_from(article)
    return form


def _editor(form: ArticleForm, article: Article | None):
    """The editor page, with the preview of what is in the form (typed text after a refusal)."""
    now = utcnow()
    if any(field.errors for field in form):
        # On a phone the field in question may be far below: say at the top that nothing was saved.
        flash(_("未能保存，请按提示修改标红的内容"), "error")
    figures = queries.article_figures([article.id])[0] if article is not None else None
    return render_template(
        "cms/admin/edit.html",
        form=form, article=article, now=now, figures=figures,
        sessions=upcoming_published_sessions(now),
        preview=_preview(form.body.data or ""),
        revisions=admin_queries.revisions(article.id)[:5] if article is not None else [],
    )


def _show_error(form: ArticleForm, error: DomainError) -> None:
    """Next to the field it concerns; an image refused on the editor page belongs to the cover."""
    if error.field == "image":
        form.cover_file.errors = [*form.cover_file.errors, str(error.message)]
    else:
        show_error_on_form(form, error)


def _cover(form: ArticleForm) -> FileStorage | None:
    """A cover chosen without the page's script, posted with the form: kept only with the action
    it came with (app/cms/editor.py), so a refused save leaves no image behind."""
    upload = form.cover_file.data
    return upload if upload and getattr(upload, "filename", "") else None


def _typed(form: ArticleForm) -> dict:
    """What every editor button passes on: the base of the edit and the posted cover."""
    return {"base_revision": form.base_revision.data, "cover": _cover(form)}


def _stale(form: ArticleForm, article: Article, error: ArticleChanged) -> None:
    """Someone saved meanwhile: say so, keep the typed text, and let a second save overwrite knowingly."""
    flash(str(error.message), "error")
    flash(_("也可以在“修订记录”中查看对方的修改；确认后再次保存，将以您的版本为准。"), "warning")
    form.base_revision.data = article.revision_number
    form.base_revision.raw_data = [str(article.revision_number)]


@bp.route("/new", methods=["GET", "POST"])
def new_article():
    form = _editor_form(None)
    if form.validate_on_submit():
        try:
            article = editor.create_draft(form.article_input(), current_user, cover=_cover(form))
        except DomainError as error:
            _show_error(form, error)
        else:
            flash(_("草稿已保存（第 1 版）"), "success")
            return redirect(url_for("cms_admin.edit_article", article_id=article.id))
    return _editor(form, None)


@bp.route("/<int:article_id>/edit", methods=["GET", "POST"])
def edit_article(article_id: int):
    article = _article_or_404(article_id)
    form = _editor_form(article)
    if form.validate_on_submit():
        try:
            saved = editor.save_edits(article.id, form.article_input(), current_user, **_typed(form))
        except ArticleChanged as error:
            _stale(form, article, error)
        except DomainError as error:
            _show_error(form, error)
        else:
            if saved:
                flash(_("已保存为第 %(n)s 版", n=article.revision_number), "success")
            else:
                flash(_("内容没有改动，无需保存"), "info")
            return redirect(url_for("cms_admin.edit_article", article_id=article.id))
    return _editor(form, article)


@bp.route("/<int:article_id>/publish", methods=["POST"])
def publish(article_id: int):
    """立即发布 from the editor: what was typed is saved, then published, together."""
    article = _article_or_404(article_id)
    form = _editor_form(article)
    if form.validate_on_submit():
        try:
            editor.save_and_publish(article.id, form.article_input(), current_user, **_typed(form))
        except ArticleChanged as error:
            _stale(form, article, error)
        except DomainError as error:
            _show_error(form, error)
        else:
            flash(_("已发布"), "success")
            return redirect(url_for("cms_admin.edit_article", article_id=article.id))
    return _editor(form, article)


@bp.route("/<int:article_id>/schedule", methods=["POST"])
def schedule(article_id: int):
    """定时发布: the time is checked before anything is saved, so a refusal leaves no half-done save."""
    article = _article_or_404(article_id)
    form = _editor_form(article)
    if form.validate_on_submit():
        problem = schedule_time_error(form)
        if problem:
            form.publish_at.errors = [*form.publish_at.errors, problem]
            return _editor(form, article)
        try:
            editor.save_and_schedule(article.id, form.article_input(), form.publish_at_utc(), current_user,
                                     **_typed(form))
        except ArticleChanged as error:
            _stale(form, article, error)
        except DomainError as error:
            _show_error(form, error)
        else:
            when = form.publish_at.data.strftime("%Y-%m-%d %H:%M")
            flash(_("已定时发布：%(when)s（北京时间）", when=when), "success")
            return redirect(url_for("cms_admin.edit_article", article_id=article.id))
    return _editor(form, article)


def _status_action(article_id: int, action, done: str):
    article = _article_or_404(article_id)
    try:
        action(article.id, current_user)
    except DomainError as error:
        flash(str(error.message), "error")
    else:
        flash(done, "success")
    return redirect(url_for("cms_admin.edit_article", article_id=article.id))


@bp.route("/<int:article_id>/unpublish", methods=["POST"])
def unpublish(article_id: int):
    return _status_action(article_id, service.unpublish_article, _("已撤回为草稿，读者将看不到这篇文章"))


@bp.route("/<int:article_id>/archive", methods=["POST"])
def archive(article_id: int):
    return _status_action(article_id, service.archive_article, _("已归档，读者将看不到这篇文章"))


# --- live preview and uploads (the editor's script) -----------------------------------------

def _preview(body: str) -> Markup:
    """The body as readers will see it, booking cards included; a card that readers would not see
    (unknown or unpublished session) is flagged for the editor instead of silently left out.
    The cards' buttons lead straight to the booking page: trying them must not count as a click."""
    limit = current_app.config["CMS_MAX_BODY_CHARS"]
    if len(body) > limit:
        preview_error = get_template_attribute("cms/admin/_macros.html", "preview_error")
        return Markup(preview_error(BodyTooLong(limit, len(body)).message))
    html = rendering.render_markdown(body)
    cards = published_sessions(rendering.booking_card_ids(body))
    booking_card = get_template_attribute("cms/_booking_card.html", "booking_card")
    missing_card = get_template_attribute("cms/admin/_macros.html", "missing_card")
    now = utcnow()

    def render_card(session_id: int) -> str:
        camp = cards.get(session_id)
        if camp is None:
            return str(missing_card(session_id))
        return str(booking_card(camp, None, now))

    return rendering.fill_booking_cards(with_public_media(html), render_card)


@bp.route("/preview", methods=["POST"])
def preview():
    """The Markdown posted by the editor's script, rendered: an HTML fragment for the preview pane."""
    return _preview(request.form.get("body", "")), 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.route("/images", methods=["POST"])
def upload_image():
    """An image for the body or the cover: JSON {url, markdown} for the script, or {error}."""
    upload = request.files.get("image")
    if upload is None or not upload.filename:
        return jsonify(error=_("请选择要上传的图片")), 400
    try:
        media = service.save_image(upload, current_user)
    except DomainError as error:
        return jsonify(error=str(error.message)), _UPLOAD_REFUSAL_STATUS.get(type(error), 400)
    alt = _alt_text(upload.filename)
    # The body names /media/<name> whatever MEDIA_PUBLIC_URL is (pages map it when they are shown,
    # media.with_public_media); `url` is where the editor's page loads the image now.
    markdown = f"![{alt}]({url_for('cms.media', filename=media.filename)})"
    return jsonify(url=media_url(media.filename), markdown=markdown, filename=media.filename,
                   width=media.width, height=media.height)


_UPLOAD_REFUSAL_STATUS = {ImageTooLarge: 413, ImageStoreUnavailable: 503}


def _alt_text(original_name: str) -> str:
    """The upload's name without its extension, as alt text; brackets would break the Markdown."""
    stem = original_name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0]
    return "".join(ch for ch in stem if ch not in "[]()<>\n\r")[:80] or _("图片")


# --- revisions ------------------------------------------------------------------------------

@bp.route("/<int:article_id>/revisions")
def revisions(article_id: int):
    article = _article_or_404(article_id)
    return render_template("cms/admin/revisions.html", article=article, rows=admin_queries.revisions(article.id),
                           history=admin_queries.article_history(article.id))


@bp.route("/<int:article_id>/revisions/<int:number>")
def revision(article_id: int, number: int):
    article = _article_or_404(article_id)
    shown = admin_queries.revision_or_none(article.id, number)
    if shown is None:
        abort(404)
    return render_template("cms/admin/revision.html", article=article, revision=shown,
                           sections=diff_sections(service.revision_diff(article.id, number)))


@bp.route("/<int:article_id>/revisions/<int:number>/restore", methods=["POST"])
def restore(article_id: int, number: int):
    article = _article_or_404(article_id)
    try:
        service.restore_revision(article.id, number, current_user)
    except RevisionNotFound:
        abort(404)
    except DomainError as error:
        flash(str(error.message), "error")
        return redirect(url_for("cms_admin.revision", article_id=article.id, number=number))
    flash(_("已恢复第 %(old)s 版的内容，保存为第 %(new)s 版", old=number, new=article.revision_number), "success")
    return redirect(url_for("cms_admin.edit_article", article_id=article.id))
