"""Placeholder: filled in by the dns service module."""
ROUTES = []
CONTROL_ROUTES = []


class Backend:
    def __init__(self, world, region):
        self.world, self.region = world, region

    def snapshot(self):
        return {}
