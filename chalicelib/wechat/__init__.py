"""The only place that knows WeChat: login, phone numbers and the shared access token."""
