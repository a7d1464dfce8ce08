"""Configure the main router by itself: UPnP IGD, or the APIs of OpenWrt, OPNsense, iKuai.

- model: the vendor-neutral types (Want, Entry, Outcome, State, Shape, Lease)
- reconcile: wanted forwards + entries found → steps and expected outcomes (pure)
- push: runs the steps through a client (client.RouterClient) → Report
- upnp (with ssdp, soap), openwrt, opnsense, ikuai: the clients
- secrets: the main router's password or API key, root-only, outside UCI
- errors: RouterError and the parts of the catalogue table [push] (every sentence)
- control: the configured main router (main_router_control → client, with its secret),
  push / remove / look, the state and record files, its public address
- present: a result as JSON or text in the caller's language, with manual steps
- commands: `dualnat main-router push | status | remove | secret`, apply's push
- runner: who runs a push for the API (at once, or the daemon's keeper, ubus/keeper.py)
"""
