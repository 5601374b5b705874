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


class UnprintableCharacters(DomainError):
    """Some character of what the certificate prints is in no PDF font: it would come out blank or
    as a box, and a certificate that misspells its holder's name is worthless. `problems` are
    (what: 姓名 / 课程名称 / 地点, the characters) from app/certificates/pdf.unprintable_fields."""

    code = "unprintable_characters"
    field = "reason"

    def __init__(self, problems: list[tuple[str, list[str]]], can_override: bool = True) -> None:
        self.problems = problems
        message = describe_unprintable(problems)
        if can_override:
            message = _l("%(problems)s。请先核对并修改；如确需颁发，请填写原因。", problems=message)
        else:
            message = _l("%(problems)s。请先核对并修改。", problems=message)
        super().__init__(message)


def describe_unprintable(problems: list[tuple[str, list[str]]]) -> str:
    """姓名中的「𮯰」（U+2EBF0）无法打印在证书上：the character, and its code point, which says which
    one it is when the browser cannot show it either."""
    return "；".join(
        str(_l("%(what)s中的%(chars)s无法打印在证书上", what=what,
               chars="、".join(f"「{char}」（U+{ord(char):04X}）" for char in chars)))
        for what, chars in problems
    )
