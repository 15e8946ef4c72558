"""Inbox identity is (source, message id, content hash), with revisions; attempt leases; the
sweep's marks; the raw bytes of a body that text cannot hold; the X12 test indicator."""

import hashlib

from django.db import migrations, models


def hash_existing_messages(apps, schema_editor):
    InboundMessage = apps.get_model("integrations", "InboundMessage")
    changed = []
    for message in InboundMessage.objects.only("pk", "raw").iterator(chunk_size=2000):
        message.content_hash = hashlib.sha256(message.raw.encode("utf-8", "surrogatepass")).hexdigest()
        changed.append(message)
        if len(changed) == 2000:
            InboundMessage.objects.bulk_update(changed, ["content_hash"])
            changed = []
    InboundMessage.objects.bulk_update(changed, ["content_hash"])


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0004_admin_permissions"),
    ]

    operations = [
        migrations.AddField(
            model_name="inboundmessage",
            name="content_hash",
            field=models.CharField(
                default="", help_text="SHA-256 of the body as received", max_length=64, verbose_name="content hash"
            ),
            preserve_default=False,
        ),
        migrations.RunPython(hash_existing_messages, migrations.RunPython.noop, elidable=True),
        migrations.AddField(
            model_name="inboundmessage",
            name="revision",
            field=models.PositiveIntegerField(default=1, verbose_name="revision"),
        ),
        migrations.AddField(
            model_name="inboundmessage",
            name="raw_bytes",
            field=models.BinaryField(blank=True, null=True, verbose_name="raw bytes"),
        ),
        migrations.AddField(
            model_name="inboundmessage",
            name="is_test",
            field=models.BooleanField(
                default=False, help_text="the sender marked it as test data", verbose_name="test message"
            ),
        ),
        migrations.AddField(
            model_name="inboundmessage",
            name="error_kind",
            field=models.CharField(
                blank=True,
                choices=[("permanent", "Permanent"), ("temporary", "Temporary")],
                max_length=10,
                verbose_name="kind of error",
            ),
        ),
        migrations.AddField(
            model_name="inboundmessage",
            name="lease_expires_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="claimed until"),
        ),
        migrations.AddField(
            model_name="inboundmessage",
            name="requeued_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="re-queued by the sweep at"),
        ),
        migrations.AddField(
            model_name="inboundmessage",
            name="requeue_count",
            field=models.PositiveIntegerField(default=0, verbose_name="times re-queued by the sweep"),
        ),
        migrations.RemoveConstraint(model_name="inboundmessage", name="unique_message_per_source"),
        migrations.AddConstraint(
            model_name="inboundmessage",
            constraint=models.UniqueConstraint(
                fields=("source", "message_id", "content_hash"), name="unique_message_content"
            ),
        ),
        migrations.AddConstraint(
            model_name="inboundmessage",
            constraint=models.UniqueConstraint(fields=("source", "message_id", "revision"), name="unique_message_revision"),
        ),
    ]
