"""Wiring only: the Chalice app, its blueprints and the middleware that keeps every error in the
contract's envelope."""
from chalice import Chalice

from chalicelib.api import admin, members
from chalicelib.api.http import envelope_middleware

app = Chalice(app_name="member-loyalty")
app.register_middleware(envelope_middleware, "http")
app.register_blueprint(members.bp)
app.register_blueprint(admin.bp)
