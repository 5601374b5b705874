"""Why an invoice request was refused, in the words its page shows (and the code an API would give)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.common.errors import DomainError


class InvoiceRequestNotFound(DomainError):
    code = "invoice_request_not_found"
    message = _l("找不到这条发票申请")


class FreeRegistration(DomainError):
    code = "invoice_free_registration"
    message = _l("这是免费课程，没有付款，无需开具发票")


class NotPaidYet(DomainError):
    code = "invoice_not_paid"
    message = _l("这条报名还没有付款，付款后才能申请发票")


class NothingKept(DomainError):
    code = "invoice_nothing_kept"
    message = _l("这条报名的款项已全部退回，无需开具发票")


class PaidByGroup(DomainError):
    """团体报名: the seat was paid by the group's booker, whose invoice covers it."""

    code = "invoice_paid_by_group"
    message = _l("这条报名由团体报名人统一付款，发票请由报名人在团体报名的付款页申请")


class AlreadyRequested(DomainError):
    code = "invoice_already_requested"
    message = _l("这条报名已经申请过发票，请刷新页面查看或修改")


class AlreadyIssued(DomainError):
    code = "invoice_already_issued"
    message = _l("发票已经开具，不能再修改或撤回。如信息有误，请联系工作人员作废后重新申请")


class NotRequested(DomainError):
    """Staff acting on a request that is no longer waiting (issued or cancelled meanwhile)."""

    code = "invoice_not_requested"
    message = _l("这条发票申请已不是待开票状态，请刷新页面查看")


class AlreadyCancelled(DomainError):
    code = "invoice_already_cancelled"
    message = _l("这条发票申请已经取消")


class InvalidTitle(DomainError):
    code = "invoice_invalid_title"
    field = "title"


class InvalidTaxId(DomainError):
    code = "invoice_invalid_tax_id"
    field = "tax_id"


class InvalidInvoiceNumber(DomainError):
    code = "invoice_invalid_number"
    field = "invoice_number"
    message = _l("发票号码最多 32 位")


class ReasonRequired(DomainError):
    code = "invoice_reason_required"
    field = "reason"
    message = _l("请填写原因，申请人会在通知里看到")


class PdfMissing(DomainError):
    code = "invoice_pdf_missing"
    field = "pdf"
    message = _l("请选择发票的 PDF 文件")


class PdfTooLarge(DomainError):
    code = "invoice_pdf_too_large"
    field = "pdf"

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(_l("PDF 文件太大，最大 %(mb)s MB", mb=f"{limit_bytes / 1024 / 1024:g}"))


class PdfInvalid(DomainError):
    code = "invoice_pdf_invalid"
    field = "pdf"
    message = _l("这不是有效的 PDF 文件，请上传从税务平台下载的发票 PDF")


class PdfEncrypted(DomainError):
    code = "invoice_pdf_encrypted"
    field = "pdf"
    message = _l("这个 PDF 设置了打开密码，学员无法查看，请上传未加密的发票 PDF")
