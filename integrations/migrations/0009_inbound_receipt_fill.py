"""Every stored message gets its own receipt (the sender of an old message learns it from a
duplicate's answer)."""

import uuid

from django.db import migrations


def receipts_fill(apps, schema_editor):
    InboundMessage = apps.get_model("integrations", "InboundMessage")
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(InboundMessage._meta.db_table)
        schema_editor.execute(f"UPDATE {table} SET receipt = gen_random_uuid() WHERE receipt IS NULL")
        return
    for pk in InboundMessage.objects.filter(receipt__isnull=True).values_list("pk", flat=True).iterator():
        InboundMessage.objects.filter(pk=pk).update(receipt=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [("integrations", "0008_inbound_receipt")]

    operations = [migrations.RunPython(receipts_fill, migrations.RunPython.noop)]
