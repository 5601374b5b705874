"""registration questions: what a course or a session asks on its booking form, and the answers

registration_questions: a course's questions (course_id) or a session's own (session_id), in order
(position), of a kind (short_text ... yes_no), with their options (JSON) and an optional condition
(shown only when an earlier question's answer is condition_value); deleted softly (deleted_at) so
answers keep pointing at them. session_own_questions: the sessions that ask their own questions
instead of their course's. registration_answers: one per registration and question (unique), with
the question as it was asked (position, label, kind, choices) and the answer in canonical text.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 06:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('registration_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('short_text', 'long_text', 'single_choice', 'multiple_choice', 'number', 'date', 'phone', 'email', 'yes_no', name='question_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('help_text', sa.String(length=300), server_default='', nullable=False),
    sa.Column('required', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('condition_question_id', sa.Integer(), nullable=True),
    sa.Column('condition_value', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('condition_question_id IS NULL OR condition_value IS NOT NULL', name=op.f('ck_registration_questions_condition_complete')),
    sa.CheckConstraint('(course_id IS NULL) <> (session_id IS NULL)', name=op.f('ck_registration_questions_course_or_session')),
    sa.ForeignKeyConstraint(['condition_question_id'], ['registration_questions.id'], name=op.f('fk_registration_questions_condition_question_id_registration_questions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_registration_questions_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['camp_sessions.id'], name=op.f('fk_registration_questions_session_id_camp_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_questions'))
    )
    with op.batch_alter_table('registration_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_questions_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registration_questions_session_id'), ['session_id'], unique=False)

    op.create_table('session_own_questions',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['camp_sessions.id'], name=op.f('fk_session_own_questions_session_id_camp_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_session_own_questions'))
    )
    op.create_table('registration_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=True),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['registration_questions.id'], name=op.f('fk_registration_answers_question_id_registration_questions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_registration_answers_registration_id_registrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_answers')),
    sa.UniqueConstraint('registration_id', 'question_id', name='uq_registration_answers_question')
    )
    with op.batch_alter_table('registration_answers', schema=None) as batch_op:
        batch_op.create_index('ix_registration_answers_question_id', ['question_id'], unique=False)



def downgrade():
    with op.batch_alter_table('registration_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_registration_answers_question_id')

    op.drop_table('registration_answers')
    op.drop_table('session_own_questions')
    with op.batch_alter_table('registration_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_questions_session_id'))
        batch_op.drop_index(batch_op.f('ix_registration_questions_course_id'))

    op.drop_table('registration_questions')
