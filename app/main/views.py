from flask import Blueprint, render_template
from sqlalchemy import select

from app.accounts.models import User
from app.accounts.permissions import staff_required
from app.accounts.service import count_users_by_role
from app.catalog.service import upcoming_published_sessions
from app.common.time import utcnow
from app.extensions import db

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    now = utcnow()
    return render_template("main/index.html", sessions=upcoming_published_sessions(now, limit=6), now=now)


@bp.route("/staff/")
@staff_required
def staff_home():
    recent_signups = db.session.scalars(select(User).order_by(User.created_at.desc(), User.id.desc()).limit(20))
    return render_template("main/staff_home.html", counts=count_users_by_role(), recent_signups=recent_signups)
