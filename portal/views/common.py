"""What the portal's, the status links' and the technician pages' views share."""

from django.http import JsonResponse

from portal.services.links import portal_profile_for


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def branding(account) -> dict:
    profile = portal_profile_for(account)
    if profile is None:
        return {}
    return {
        "name": profile.brand_name,
        "logo_url": profile.logo_url,
        "primary": profile.colour_primary,
        "accent": profile.colour_accent,
        "support_email": profile.support_email,
        "support_phone": profile.support_phone,
        "support_hours": profile.support_hours,
    }


def errors_response(error, status: int = 400) -> JsonResponse:
    """A ValidationError as {"errors": {field: [messages]}} naming the fields."""
    errors = error.message_dict if hasattr(error, "message_dict") else {"__all__": error.messages}
    return JsonResponse({"errors": errors}, status=status)
