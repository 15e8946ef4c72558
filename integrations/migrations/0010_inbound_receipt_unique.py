import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("integrations", "0009_inbound_receipt_fill")]

    operations = [
        migrations.AlterField(
            model_name="inboundmessage",
            name="receipt",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True, verbose_name="receipt"),
        ),
    ]
