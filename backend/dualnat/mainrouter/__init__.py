"""Configure the main router by itself: UPnP IGD, or the APIs of OpenWrt, OPNsense, iKuai.

- model: the vendor-neutral types (Want, Entry, Outcome, State, Shape, Lease)
- reconcile: wanted forwards + entries found → steps and expected outcomes (pure)
- push: runs the steps through a client (client.RouterClient) → Report
- upnp (with ssdp, soap), openwrt, opnsense, ikuai: the clients
- secrets: the main router's password or API key, root-only, outside UCI
"""
