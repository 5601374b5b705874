"""Every model, imported in one place so that SQLAlchemy's metadata (migrations, create_all) is complete."""
from app.accounts.models import LoginSession, Role, User
from app.audit.models import AuditEntry
from app.booking.models import Registration, RegistrationStatus
from app.catalog.models import CampSession, Course
from app.certificates.models import Certificate, CertificateStatus
from app.cms.models import Article, ArticleColumn, ArticleRevision, ArticleStatus, ArticleViewMark, MediaFile, Tag
from app.invoices.models import InvoiceRequest
from app.mail.models import OutboxMessage, OutboxStatus
from app.payments.models import (
    Payment,
    PaymentOrder,
    PaymentOrderLine,
    PaymentProvider,
    Refund,
    RefundRequest,
    RefundStatus,
)
from app.questions.models import Answer, Question, QuestionKind, SessionOwnQuestions
from app.roster.models import Attendance

__all__ = [
    "Answer",
    "Article",
    "ArticleColumn",
    "ArticleRevision",
    "ArticleStatus",
    "ArticleViewMark",
    "MediaFile",
    "Tag",
    "Attendance",
    "AuditEntry",
    "CampSession",
    "Certificate",
    "CertificateStatus",
    "Course",
    "InvoiceRequest",
    "LoginSession",
    "OutboxMessage",
    "OutboxStatus",
    "Payment",
    "PaymentOrder",
    "PaymentOrderLine",
    "PaymentProvider",
    "Question",
    "QuestionKind",
    "Refund",
    "RefundRequest",
    "RefundStatus",
    "Registration",
    "RegistrationStatus",
    "Role",
    "SessionOwnQuestions",
    "User",
]
