"""Notification services: triggers create notifications (exactly once per event, recipient and
channel), a worker sends each due one (with a lease, asking the provider before any resend),
provider callbacks move the delivery log forward, batches fold digests and catch-up summaries."""
