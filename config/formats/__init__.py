"""Our date formats where Django's own do not suit (settings.FORMAT_MODULE_PATH): only English's."""
