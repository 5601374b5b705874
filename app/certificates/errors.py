from flask_babel import lazy_gettext as _l

from app.common.errors import DomainError


class CertificateNotFound(DomainError):
    code = "certificate_not_found"
    message = _l("找不到这张证书")


class NotEligible(DomainError):
    code = "not_eligible"

    def __init__(self, attended: int, required: int) -> None:
        super().__init__(_l(
            "未满足结业条件：需出勤 %(required)s 天，实际出勤 %(attended)s 天。如需破例颁发，请填写原因。",
            required=required, attended=attended,
        ))


class NotConfirmed(DomainError):
    code = "not_confirmed"
    message = _l("只有已确认的报名才能颁发证书")


class ReasonRequired(DomainError):
    code = "reason_required"
    message = _l("请填写原因")
    field = "reason"


class AlreadyRevoked(DomainError):
    code = "already_revoked"
    message = _l("这张证书已经撤销了")
