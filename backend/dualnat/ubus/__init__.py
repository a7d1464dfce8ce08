"""The ubus object ``dualnat``: python-ubus bindings → the Flask app, in-process.

``methods`` lists the methods and the request each one becomes, ``adapter`` registers
them with the bindings (kept behind one small seam, so tests use a fake module), and
``daemon`` connects, loops and keeps public_address ``auto`` up to date.
"""
