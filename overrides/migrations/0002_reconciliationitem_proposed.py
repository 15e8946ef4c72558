from django.db import migrations, models


class Migration(migrations.Migration):
    """A reconciliation proposes what a line's facts decide with the source's missing ones added,
    and keeps those facts."""

    dependencies = [("overrides", "0001_initial")]

    operations = [
        migrations.RenameField(model_name="reconciliationitem", old_name="source_status", new_name="proposed_status"),
        migrations.RenameField(
            model_name="reconciliationitem", old_name="source_occurred_at", new_name="proposed_occurred_at"
        ),
        migrations.AddField(
            model_name="reconciliationitem",
            name="facts",
            field=models.JSONField(default=list, verbose_name="missing facts"),
        ),
        migrations.AlterField(
            model_name="reconciliationitem",
            name="proposed_occurred_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="proposed status time"),
        ),
        migrations.AlterField(
            model_name="reconciliationitem",
            name="proposed_status",
            field=models.CharField(
                choices=[
                    ("received", "Received"),
                    ("released", "Released"),
                    ("awaiting_part", "Awaiting part"),
                    ("allocated", "Allocated"),
                    ("picking", "Picking"),
                    ("awaiting_kitting", "Awaiting kitting"),
                    ("packed", "Packed"),
                    ("shipped", "Shipped"),
                    ("in_transit", "In transit"),
                    ("out_for_delivery", "Out for delivery"),
                    ("delivered", "Delivered"),
                    ("verified", "Verified on site"),
                    ("on_hold", "On hold"),
                    ("exception", "Exception"),
                    ("cancelled", "Cancelled"),
                    ("returned", "Returned"),
                ],
                max_length=20,
                verbose_name="proposed status",
            ),
        ),
    ]
