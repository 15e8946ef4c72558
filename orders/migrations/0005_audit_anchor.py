"""Audit chain keyed per event (key_id), anchors of chain heads, append-only triggers on PostgreSQL."""

import django.db.models.deletion
from django.db import migrations, models

# Tables whose rows are written once. PostgreSQL refuses UPDATE and DELETE on them whoever asks;
# only a superuser who switches triggers off (session_replication_role = replica) gets past,
# and the keyed chain and its anchors still show what they did.
APPEND_ONLY_MODELS = ("StatusEvent", "EventSuppression", "AuditAnchor")

REFUSE_FUNCTION = """
CREATE OR REPLACE FUNCTION orders_refuse_append_only_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def append_only_triggers_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    schema_editor.execute(REFUSE_FUNCTION, params=None)  # its % are PL/pgSQL placeholders
    for model_name in APPEND_ONLY_MODELS:
        table = apps.get_model("orders", model_name)._meta.db_table
        schema_editor.execute(
            f"CREATE TRIGGER {quote(table + '_append_only')} BEFORE UPDATE OR DELETE ON {quote(table)} "
            "FOR EACH ROW EXECUTE FUNCTION orders_refuse_append_only_change()"
        )


def append_only_triggers_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for model_name in APPEND_ONLY_MODELS:
        table = apps.get_model("orders", model_name)._meta.db_table
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {quote(table + '_append_only')} ON {quote(table)}")
    schema_editor.execute("DROP FUNCTION IF EXISTS orders_refuse_append_only_change()")


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0004_identities_shipments'),
    ]

    operations = [
        migrations.AddField(
            model_name='statusevent',
            name='key_id',
            field=models.CharField(blank=True, max_length=40, verbose_name='key id'),
        ),
        migrations.CreateModel(
            name='AuditAnchor',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sequence', models.PositiveIntegerField(verbose_name='events anchored')),
                ('head', models.CharField(max_length=64, verbose_name='chain head')),
                ('anchored_at', models.DateTimeField(verbose_name='anchored at')),
                ('key_id', models.CharField(max_length=40, verbose_name='key id')),
                ('signature', models.CharField(max_length=64, verbose_name='signature')),
                ('line', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='audit_anchors', to='orders.orderline', verbose_name='line')),
            ],
            options={
                'verbose_name': 'audit anchor',
                'verbose_name_plural': 'audit anchors',
                'ordering': ['line_id', 'sequence'],
                'constraints': [models.UniqueConstraint(fields=('line', 'sequence'), name='unique_anchor_per_line_sequence')],
            },
        ),
        migrations.RunPython(append_only_triggers_create, append_only_triggers_drop),
    ]
