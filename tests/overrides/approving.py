"""Approving as a supervisor does in the back office: "Approve…" shows what approving does to
the lines now; "Confirm the approval" sends back the state that preview was judged on."""


def approve_through_preview(client, request_id: int, note: str = ""):
    """Both steps; returns the last response (the preview when it was refused or not shown)."""
    url = f"/backoffice/approvals/{request_id}/approve/"
    preview = client.post(url, {"note": note})
    if preview.status_code != 200 or preview.context is None or "preview" not in preview.context:
        return preview
    return client.post(url, {"note": note, "seen": preview.context["preview"].fingerprint})
