from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("integrations", "0007_merge_20261202_0007")]

    operations = [
        migrations.AddField(
            model_name="inboundmessage",
            name="receipt",
            field=models.UUIDField(editable=False, null=True, verbose_name="receipt"),
        ),
    ]
