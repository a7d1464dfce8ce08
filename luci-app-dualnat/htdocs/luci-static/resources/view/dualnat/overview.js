'use strict';
'require view';
'require dom';
'require poll';
'require ui';
'require dualnat.common as dn';

/*
 * Overview: where this bypass router stands (addresses, main router, public
 * address, whether the rules are applied), the doctor's findings for each
 * forward in plain words, the live connections on the forwarded ports (polled)
 * and the plan with the reason for every rule.
 *
 * The firewall row shows the service's one state of the rules (status
 * `firewall`: applied, pending, broken, unknown) with the doctor's findings
 * about the loaded rules as the reason; the health check and the live
 * connections mark the same forwards, from the same ruleset check.
 */

var POLL_SECONDS = 10;

/* Like LuCI's own views: without write access (the menu node's ACL group granted read
 * only) the actions that change the router are disabled. */
var isReadonlyView = !L.hasViewPermission() || null;

/* The doctor's finding titles by code (backend/dualnat/doctor/findings.py CODES), so that
 * they appear translated. */
var FINDING_TITLES = {
	'forward.ok': _('the forward works'),
	'forward.rules_missing': _('dualnat\'s rules are not loaded'),
	'forward.no_traffic': _('no connection reaches the bypass router'),
	'forward.direct_to_device': _('the main router forwards straight to the device'),
	'forward.unreplied': _('the device\'s replies do not come back'),
	'forward.target_silent': _('the device does not answer'),
	'forward.partly_unreplied': _('some connections got no reply'),
	'forward.not_translated': _('connections arrive but are not forwarded'),
	'forward.stale_connections': _('old connections bypass the rules'),
	'forward.source_not_allowed': _('connections from sources not allowed'),
	'forward.unchecked': _('traffic could not be checked'),
	'system.ip_forward_off': _('IPv4 forwarding is off'),
	'system.redirects_on': _('ICMP redirects are on'),
	'system.rp_filter_strict': _('strict reverse-path filter'),
	'system.bridge_netfilter': _('bridged traffic passes through netfilter'),
	'system.masquerade_missing': _('the masquerade rule is not loaded'),
	'system.several_rulesets': _('dualnat rules are loaded more than once'),
	'system.ruleset_unreadable': _('the firewall rules could not be read'),
	'system.conntrack_unavailable': _('the connection table could not be read'),
	'system.disabled': _('dualnat is disabled'),
	'system.masquerade_off': _('masquerade is off for a risky main router'),
	'system.invalid_drop': _('LAN clients\' TCP is dropped as invalid')
};

/* The templates of the findings' messages and fixes by id (backend/dualnat/doctor/messages.py
 * TEMPLATES, word for word), so that they appear translated. A finding's message_parts and
 * fix_parts name them with their parameters: {name} in a template is replaced by the
 * parameter. A finding from a backend that names a template not here shows its English text. */
var MESSAGE_TEMPLATES = {
	'reload.fw4': _('Run dualnat apply (it writes the dualnat_* sections into /etc/config/firewall and reloads firewall4); if it ran already, reload the firewall: /etc/init.d/firewall reload.'),
	'reload.nft': _('Load the rules again: dualnat render --format nft | nft -f - (and make sure this runs at boot).'),
	'reload.iptables': _('Load the rules again: dualnat render --format iptables | sh (and make sure this runs at boot).'),
	'reload.none': _('On OpenWrt run dualnat apply; on a plain Linux bypass router load dualnat render --format nft | nft -f - (or --format iptables | sh).'),
	'forward.rules_missing.none.one': _('The bypass router has not loaded the {n} rule that dualnat needs for this forward (firewall: {kind}): dualnat apply was not run, or the firewall was not reloaded since, or something removed it.'),
	'forward.rules_missing.none.other': _('The bypass router has none of dualnat\'s {n} rules for this forward loaded (firewall: {kind}): dualnat apply was not run, or the firewall was not reloaded since, or something removed them.'),
	'forward.rules_missing.some': _('The bypass router has only {present} of dualnat\'s {expected} rules for this forward loaded (firewall: {kind}): dualnat apply was not run, or the firewall was not reloaded since, or something removed them.'),
	'forward.rules_missing.arrived.one': _('{n} connection arrived at {relays} and went nowhere.'),
	'forward.rules_missing.arrived.other': _('{n} connections arrived at {relays} and went nowhere.'),
	'forward.rules_missing.no_trace': _('No connection to the forward is tracked either, but without the rules a TCP connection to a port nothing listens on leaves no trace: whether the main router forwards the port shows once the rules are loaded.'),
	'forward.unchecked': _('The connection table could not be read, so whether connections arrive and get replies is unknown.'),
	'forward.unchecked.fix': _('Run dualnat doctor as root (see the system finding about the table).'),
	'forward.source_not_allowed.one': _('{n} connection from {sources} was not forwarded: the forward only accepts sources in allow_source.'),
	'forward.source_not_allowed.other': _('{n} connections from {sources} were not forwarded: the forward only accepts sources in allow_source.'),
	'forward.source_not_allowed.fix': _('If they should get through, add their network to list allow_source of forward \'{forward}\' and run dualnat apply.'),
	'forward.no_traffic': _('No connection to {relays} is in the bypass router\'s connection table: nobody connected from outside recently, or the main router does not forward the port to the bypass router {bypass}.'),
	'forward.no_traffic.also_ip_forward': _('Also, {key} is 0 here, and the kernel drops forwarded connections before they are tracked.'),
	'forward.no_traffic.also_rp_filter': _('Also, strict rp_filter is on, and it drops packets before they are tracked.'),
	'forward.no_traffic.also_both': _('Also, {key} is 0 here, and the kernel drops forwarded connections before they are tracked; strict rp_filter is on, and it drops packets before they are tracked.'),
	'forward.no_traffic.fix': _('On the main router ({vendor}), forward {port_forwards}. Then connect from outside (a phone on mobile data) to {public} and run dualnat doctor again.'),
	'forward.no_traffic.fix_no_public': _('On the main router ({vendor}), forward {port_forwards}. Then connect from outside (a phone on mobile data) to the public address and run dualnat doctor again.'),
	'forward.direct_to_device': _('The device {device} sends from its forwarded port ({ports}) to Internet addresses through the bypass router, but no connection arrives at {bypass}: the main router forwards the port straight to the device, and the device answers through its gateway, the bypass router, which never saw the connection (TCP replies are dropped there; UDP may get through until a proxy or a stateful filter takes the flow).'),
	'forward.direct_to_device.fix': _('Change the main router\'s port forward so that it targets the bypass router: {port_forwards}.'),
	'forward.ok.one': _('{n} connection forwarded to {device_port} and answered, from {clients}. The device sees {device_sees} as the client.'),
	'forward.ok.other': _('{n} connections forwarded to {device_port} and answered, from {clients}. The device sees {device_sees} as the client.'),
	'forward.partly_unreplied.one': _('{n} connection got replies, {unreplied} did not (from {sources}).'),
	'forward.partly_unreplied.other': _('{n} connections got replies, {unreplied} did not (from {sources}).'),
	'forward.partly_unreplied.fix': _('If the unanswered ones have something in common (LAN clients using the public address, one Internet address), that path is the one to look at; a few unanswered attempts (port scans, clients that gave up) are normal.'),
	'forward.target_silent.one': _('{n} connection was forwarded to {device_port} with the source {bypass}, so the replies had to come back here, but the device never answered.'),
	'forward.target_silent.other': _('{n} connections were forwarded to {device_port} with the source {bypass}, so the replies had to come back here, but the device never answered.'),
	'forward.target_silent.fix': _('Check that {device} is on, listens on {device_port}, and that its own firewall accepts connections from {bypass}.'),
	'forward.unreplied.one': _('{n} connection from {clients} was forwarded to {device_port} (DNAT happened), but no reply came back. The device answers the client address through its own default gateway; when that is the main router ({main_ip}), the main router drops the reply, because it expects it from {bypass}.'),
	'forward.unreplied.other': _('{n} connections from {clients} were forwarded to {device_port} (DNAT happened), but no reply came back. The device answers the client address through its own default gateway; when that is the main router ({main_ip}), the main router drops the reply, because it expects it from {bypass}.'),
	'forward.unreplied.fix_check_device': _('Check that {device} is on and listens on {device_port}, and that its firewall accepts {clients}. If its gateway is the main router after all, set option target_gateway \'main\' for forward \'{forward}\' and run dualnat apply.'),
	'forward.unreplied.fix_snat': _('Set option target_gateway \'main\' for forward \'{forward}\' (or keep_source_ip \'no\') and run dualnat apply: the bypass router then replaces the source with {bypass}, so the replies come back through it (the device sees {bypass} instead of the client). Or make {bypass} the device\'s gateway (DHCP).'),
	'forward.stale_connections.one': _('{n} connection reached the bypass router without being forwarded while others were: they started before the rules were loaded, and the kernel keeps a connection\'s translation for its whole life (long-lived UDP flows never pick up new rules).'),
	'forward.stale_connections.other': _('{n} connections reached the bypass router without being forwarded while others were: they started before the rules were loaded, and the kernel keeps a connection\'s translation for its whole life (long-lived UDP flows never pick up new rules).'),
	'forward.stale_connections.fix': _('Delete them so that they start again through the rules: {commands}'),
	'forward.not_translated.one': _('{n} connection reached the bypass router at {relays}, and none was forwarded to {device} although the rules are loaded: the connections started before the rules were loaded, or the rules are for another LAN device than {lan_device}.'),
	'forward.not_translated.other': _('{n} connections reached the bypass router at {relays}, and none was forwarded to {device} although the rules are loaded: the connections started before the rules were loaded, or the rules are for another LAN device than {lan_device}.'),
	'forward.not_translated.fix': _('Delete the old connections ({commands}); if new ones are not forwarded either, run dualnat apply again (the LAN device may have changed).'),
	'system.disabled': _('dualnat is disabled in /etc/config/dualnat: it plans no rules.'),
	'system.disabled.fix': _('Set option enabled \'1\' in config dualnat \'main\' and run dualnat apply.'),
	'system.ruleset_unreadable': _('Neither `nft list ruleset` nor `iptables-save -t nat` could run, so whether the rules are loaded is unknown.'),
	'system.ruleset_unreadable.fix': _('Run dualnat doctor as root.'),
	'system.several_rulesets.two': _('dualnat\'s rules are loaded in {first} and {second} at the same time (checked: {kind}). The first translation wins, and removing one leaves the other.'),
	'system.several_rulesets.three': _('dualnat\'s rules are loaded in {first} and {second} and {third} at the same time (checked: {kind}). The first translation wins, and removing one leaves the other.'),
	'system.several_rulesets.fix': _('Keep one way: firewall4 on OpenWrt (dualnat apply); remove the others with dualnat render --format nft --revert | nft -f - or dualnat render --format iptables --revert | sh.'),
	'system.masquerade_missing': _('dualnat plans to masquerade LAN traffic that leaves through the bypass router, but the rule is not loaded: Wi-Fi clients behind a main router that runs bridged traffic through netfilter lose IPv4.'),
	'system.conntrack_unavailable': _('Neither /proc/net/nf_conntrack nor the conntrack tool could be read, so the doctor cannot tell whether connections arrive and get replies.'),
	'system.conntrack_unavailable.fix': _('Run dualnat doctor as root; on OpenWrt install the conntrack package (opkg install conntrack) if /proc/net/nf_conntrack is missing.'),
	'system.masquerade_off': _('masquerade is \'off\', but the main router ({vendor}) runs bridged traffic through netfilter: its Wi-Fi clients whose gateway is the bypass router lose IPv4 unless the bypass router masquerades (the main router remembers their first, bridged pass as \'no NAT\'). The bypass router cannot see this failure, because the replies never reach it; check from such a Wi-Fi client.'),
	'system.masquerade_off.fix': _('Set option masquerade \'auto\' (or \'on\') in config dualnat \'main\' and run dualnat apply. Cost: the main router then sees those devices as the bypass router.'),
	'system.invalid_drop': _('This machine\'s firewall drops invalid forwarded packets, ICMP redirects are off and no masquerade rule is loaded: the main router answers LAN clients directly, so this machine sees only half of each TCP handshake and drops the rest as invalid. LAN clients whose gateway is the bypass router cannot open TCP connections to the Internet.'),
	'system.invalid_drop.fix': _('Set option masquerade \'auto\' (or \'on\') in config dualnat \'main\' and run dualnat apply (the main router then sees those devices as the bypass router); or stop dropping invalid packets (LuCI: Network → Firewall → Drop invalid packets).'),
	'system.ip_forward_off': _('This machine does not forward IPv4 packets: nothing that arrives for a forward (and no LAN traffic that uses it as gateway) gets through. The kernel drops such connections before they enter the connection table.'),
	'system.ip_forward_off.fix': _('sysctl -w {key}=1 (dualnat apply sets it and keeps it in /etc/sysctl.d/90-dualnat.conf; check that nothing turns it off at boot).'),
	'system.redirects_on': _('This machine sends ICMP redirects: it tells LAN devices that forward through it on {device} to use the main router directly, so their traffic skips the bypass router (its proxy, its masquerade) after the first packets. The kernel sends them when either \'all\' or the device allows it.'),
	'system.redirects_on.planned': _('dualnat plans them off, so the settings were not applied (apply not run since boot, or something set them back).'),
	'system.redirects_on.chosen': _('disable_redirects is \'0\' in /etc/config/dualnat.'),
	'system.redirects_on.fix_planned': _('Run dualnat apply, or sysctl -w {all_key}=0 {device_key}=0.'),
	'system.redirects_on.fix_chosen': _('Set option disable_redirects \'1\' in /etc/config/dualnat and run dualnat apply.'),
	'system.rp_filter_strict': _('Strict reverse-path filtering is on for {device} (the kernel uses the larger of \'all\' and the device): a packet is dropped unless the reply to its source would leave through {device} again. Forwarded connections from sources this machine routes elsewhere (a proxy\'s tun device, policy routing, a second uplink) vanish without a trace in the connection table.'),
	'system.rp_filter_strict.fix': _('sysctl -w {all_key}=2 {device_key}=2 (loose) unless you rely on strict mode.'),
	'system.bridge_netfilter': _('Bridged traffic on this machine passes through its firewall and connection tracking (br_netfilter). A connection first seen while it crossed the bridge is tracked without NAT; packets of it that this machine later routes skip dualnat\'s translation (the failure Linksys and Netgear main routers show), and the firewall\'s rules apply to traffic that only crosses the bridge.'),
	'system.bridge_netfilter.fix': _('sysctl -w {key}=0, unless a service here (Docker, a bridge firewall) needs it.')
};

/* The templates of the plan's reasons and warnings by id (backend/dualnat/reasons.py
 * TEMPLATES, word for word), so that they appear translated. A plan item's reason_parts
 * and a warning's parts name them with their parameters, rendered like the findings'. */
var REASON_TEMPLATES = {
	'plan.dnat': _('Connections that the main router forwards to {bypass}:{port} go on to {target}. The rule matches the bypass router\'s own address {bypass}, so LAN clients\' outgoing traffic to port {port} elsewhere is left alone.'),
	'plan.dnat.relay_service': _('The main router targets port {port} instead of {external} because {services} is a service of the bypass router; LAN clients keep reaching the bypass router\'s own port {external}.'),
	'plan.dnat.relay_bypass_port': _('The main router targets port {port} instead of {external} because bypass_port says so; LAN clients keep reaching the bypass router\'s own port {external}.'),
	'plan.dnat.allow_source': _('Only sources in allow_source may connect.'),
	'plan.dnat.allow_source_lan': _('Only sources in allow_source may connect (and LAN clients, which reach the device directly anyway).'),
	'plan.dnat.hairpin': _('Hairpin: LAN clients that use the bypass router as gateway and connect to the public address {public}:{port} reach {target} directly. (Firewall4\'s own reflection does nothing on a bypass router.)'),
	'plan.snat.gateway_main': _('{device} must send its replies back through the bypass router, and its gateway is the main router: the source becomes {bypass}, so the device sees {bypass} instead of the client\'s address. Without this the reply goes straight to the main router, which drops it.'),
	'plan.snat.keep_source_no': _('{device} must send its replies back through the bypass router, and keep_source_ip is \'no\': the source becomes {bypass}, so the device sees {bypass} instead of the client\'s address. Without this the reply goes straight to the main router, which drops it.'),
	'plan.snat.hairpin': _('Hairpin: connections from LAN addresses (LAN clients, or the main router\'s own NAT loopback) get the source {bypass}; otherwise {device} would answer them directly on the LAN and the reply would not match. Clients on the Internet keep their address.'),
	'plan.masquerade.on': _('LAN traffic that leaves through the bypass router gets its address {bypass} because masquerade is \'on\'; otherwise Wi-Fi clients whose gateway is the bypass router lose IPv4 (the main router\'s conntrack remembers their first hop as \'no NAT\'). Cost: the main router sees every such device as the bypass router.'),
	'plan.masquerade.vendor': _('LAN traffic that leaves through the bypass router gets its address {bypass} because the main router ({vendor}) runs bridged traffic through netfilter; otherwise Wi-Fi clients whose gateway is the bypass router lose IPv4 (the main router\'s conntrack remembers their first hop as \'no NAT\'). Cost: the main router sees every such device as the bypass router.'),
	'plan.masquerade.invalid_drop': _('LAN traffic that leaves through the bypass router gets its address {bypass} because this router\'s firewall drops invalid packets ({evidence}) and ICMP redirects are off: the main router answers LAN clients directly, so this router sees only half of each TCP handshake and would drop the rest as invalid, cutting LAN clients whose gateway is the bypass router off the Internet. With masquerade the replies come back through the bypass router. Cost: the main router sees every such device as the bypass router.'),
	'plan.sysctl.ip_forward': _('The bypass router forwards LAN traffic and the forwarded connections.'),
	'plan.sysctl.send_redirects': _('An ICMP redirect would tell LAN devices to send their Internet traffic straight to the main router, skipping the bypass router (its proxy and its masquerade). The kernel sends redirects if either \'all\' or the device allows it.'),
	'plan.dhcp.on': _('The bypass router\'s DHCP server hands out {bypass} as gateway and is on (bypass_dhcp is 1: the main router\'s DHCP must be off by now).'),
	'plan.dhcp.on_dns': _('The bypass router\'s DHCP server hands out {bypass} as gateway and DNS server and is on (bypass_dhcp is 1: the main router\'s DHCP must be off by now).'),
	'plan.dhcp.prepared': _('The bypass router\'s DHCP server is prepared to hand out {bypass} as gateway but stays as it is until bypass_dhcp is 1, so that it never runs next to the main router\'s.'),
	'plan.dhcp.prepared_dns': _('The bypass router\'s DHCP server is prepared to hand out {bypass} as gateway and DNS server but stays as it is until bypass_dhcp is 1, so that it never runs next to the main router\'s.'),
	'plan.disabled': _('dualnat is disabled: nothing is planned and apply removes its rules'),
	'plan.dhcp.no_section': _('/etc/config/dhcp has no named \'config dhcp\' section for interface \'{interface}\', so the bypass router cannot hand itself out as gateway: add one (LuCI: Network → Interfaces → lan → DHCP Server → Set up DHCP Server) or set dhcp to \'off\'. Until then dualnat apply refuses to run.'),
	'plan.invalid_drop_redirects_on': _('This router\'s firewall drops invalid packets ({evidence}) and ICMP redirects are on (disable_redirects is 0): LAN clients that ignore the redirects lose their TCP connections to the Internet. Set disable_redirects to 1 and masquerade to \'auto\' or \'on\', so that the replies come back through the bypass router.')
};

var KINDS = {
	dnat: _('Port forward (DNAT)'),
	snat: _('Source rewrite (SNAT)'),
	masquerade: _('Masquerade'),
	sysctl: _('Kernel setting'),
	dhcp: _('DHCP')
};

function protos(item) {
	return L.toArray(item.protos).join('+');
}

function sources(item) {
	var list = L.toArray(item.sources || []);
	return list.length ? ' ' + _('from %s').format(list.join(', ')) : '';
}

/* A plan item in one line: what it matches and what it does. */
function itemSummary(item) {
	switch (item.kind) {
	case 'dnat':
		return '%s %s:%s → %s:%s%s'.format(protos(item), item.dest_addr, item.dport,
			item.to_addr, item.to_port, sources(item));
	case 'snat':
		return _('%s to %s:%s: source becomes %s').format(protos(item), item.dest_addr,
			item.dport, item.snat_to) + sources(item);
	case 'masquerade':
		return _('%s leaving through %s (not to %s)').format(item.source, item.device, item.exclude_dest);
	case 'sysctl':
		return '%s = %s'.format(item.key, item.value);
	case 'dhcp':
		return _('DHCP of %s hands out %s').format(item.section, L.toArray(item.options).join(', ')) +
			(item.enable ? ', ' + _('server switched on') : '');
	}

	return item.kind;
}

/* A sentence from its parts, translated: each part's template (from `templates`:
 * MESSAGE_TEMPLATES for the doctor's findings, REASON_TEMPLATES for the plan) with its
 * parameters, the parts joined by a space (none after a CJK sentence); the backend's English
 * `text` when there are no parts or one names an unknown template (an older backend). */
function partsText(templates, parts, text) {
	parts = L.toArray(parts);
	if (!parts.length || !parts.every(function(p) { return p && templates.hasOwnProperty(p.id); }))
		return text;

	return parts.reduce(function(out, p) {
		var params = p.params || {},
		    s = templates[p.id].replace(/\{(\w+)\}/g, function(m, name) {
			return params.hasOwnProperty(name) ? String(params[name]) : m;
		});

		if (out === '')
			return s;

		return out + (/[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]$/.test(out) ? '' : ' ') + s;
	}, '');
}

function row(title, value, id) {
	return E('tr', { 'class': 'tr', 'data-row': id || null }, [
		E('td', { 'class': 'td left', 'style': 'width:33%' }, E('strong', {}, [ title ])),
		E('td', { 'class': 'td left' }, Array.isArray(value) ? value : [ value ])
	]);
}

function formatTime(seconds) {
	return seconds ? new Date(seconds * 1000).toLocaleString() : '';
}

return view.extend({
	load: function() {
		var failed = function(err) { return { __failed: err }; };

		return Promise.all([
			dn.callStatus().catch(failed),
			dn.callPlan().catch(failed),
			dn.callDoctor().catch(failed),
			dn.callGetConfig().catch(failed)
		]);
	},

	handleApply: function(dryRun, ev) {
		return dn.callApply(!!dryRun).then(L.bind(function(res) {
			if (res.errors) {
				ui.addNotification(null, dn.errorList(_('The rules cannot be applied:'), res.errors), 'danger');
				return;
			}

			if (dryRun) {
				ui.showModal(_('Changes to /etc/config/firewall'), [
					res.changed ? E('pre', { 'class': 'dualnat-diff' }, [ res.diff ])
					            : E('p', {}, [ _('Nothing to change: the rules are up to date.') ]),
					E('div', { 'class': 'right' }, [
						E('button', { 'class': 'cbi-button', 'click': ui.hideModal }, _('Dismiss'))
					])
				]);
				return;
			}

			ui.addNotification(null, [
				E('p', {}, [ res.changed ? _('The firewall rules were applied (%d changes).').format(res.changes)
				                         : _('Nothing to change: the rules are up to date.') ]),
				E('ul', {}, L.toArray(res.messages).map(function(m) { return E('li', {}, [ m ]); }))
			], 'info');

			return this.poll();
		}, this)).catch(function(err) {
			ui.addNotification(null, dn.serviceErrorText(err), 'danger');
		});
	},

	/* The doctor's findings about the loaded rules: one line each, the fixes once. */
	renderRuleReason: function(reason, withFix) {
		var fixes = [];

		reason.forEach(function(f) {
			var fix = partsText(MESSAGE_TEMPLATES, f.fix_parts, f.fix);

			if (fix && fixes.indexOf(fix) < 0)
				fixes.push(fix);
		});

		return E('div', { 'class': 'dualnat-rule-reason' }, [
			E('ul', {}, reason.map(function(f) {
				var title = FINDING_TITLES[f.code] || f.title;

				return E('li', { 'data-code': f.code, 'data-forward': f.forward || null }, [
					f.forward ? _('Forward %s: %s').format(f.forward, title) : title
				]);
			})),
			(withFix && fixes.length)
				? E('p', { 'class': 'dualnat-fix' }, [ E('em', {}, [ _('What to do:') ]), ' ', fixes.join(' ') ]) : ''
		]);
	},

	renderFirewall: function(status) {
		var reason = L.toArray(status.firewall_reason),
		    nodes;

		switch (status.firewall) {
		case 'applied':
			nodes = [ dn.severity('ok'), ' ', _('The firewall has the current rules: they are in /etc/config/firewall and loaded.') ];
			break;

		case 'pending':
			nodes = [
				dn.severity('warning'), ' ', _('The firewall does not have the current rules yet: /etc/config/firewall differs from the plan.'), ' ',
				E('button', {
					'class': 'cbi-button cbi-button-neutral',
					'click': ui.createHandlerFn(this, 'handleApply', true),
					'disabled': isReadonlyView
				}, _('Show the changes')), ' ',
				E('button', {
					'class': 'cbi-button cbi-button-apply',
					'click': ui.createHandlerFn(this, 'handleApply', false),
					'disabled': isReadonlyView
				}, _('Apply now'))
			];

			if (reason.length)
				nodes.push(E('p', {}, [ _('Not loaded yet:') ]), this.renderRuleReason(reason, false));
			break;

		case 'broken':
			nodes = [
				dn.severity('error'), ' ', _('/etc/config/firewall has the current rules, but the firewall has not loaded them all:'),
				this.renderRuleReason(reason, true)
			];
			break;

		default:
			nodes = [ _('Unknown') ];

			if (reason.length)
				nodes.push(this.renderRuleReason(reason, true));
		}

		return nodes;
	},

	renderStatus: function(status, plan, config) {
		if (status.__failed)
			return dn.serviceError(status.__failed);

		var net = (plan && !plan.__failed && !plan.errors) ? plan.network : null,
		    pub = status.public_address || {},
		    rows = [],
		    firewall;

		rows.push(row(_('Port forwarding'), status.enabled === false
			? E('span', { 'class': 'dualnat-sev-warning' }, _('Disabled in the settings'))
			: _('Enabled'), 'enabled'));

		if (status.valid)
			rows.push(row(_('Configuration'), dn.severity('ok'), 'valid'));
		else
			rows.push(row(_('Configuration'), dn.errorBox(_('/etc/config/dualnat has problems:'), status.problems), 'valid'));

		firewall = row(_('Firewall rules'), this.renderFirewall(status), 'firewall');
		firewall.setAttribute('data-state', status.firewall || 'unknown');
		rows.push(firewall);

		if (net) {
			rows.push(row(_('This bypass router'), '%s (%s, %s)'.format(net.bypass_ip, net.lan_device, net.lan), 'bypass'));
			rows.push(row(_('Main router'), '%s (%s)'.format(net.main_router_ip,
				dn.vendorName((config && config.main_router_vendor) || 'generic')), 'main_router'));
		}

		if (pub.mode == 'fixed')
			rows.push(row(_('Public address'), pub.address, 'public'));
		else if (pub.mode == 'auto')
			rows.push(row(_('Public address'), pub.address
				? _('%s (found %s)').format(pub.address, formatTime(pub.found_at))
				: (pub.error ? _('not found yet: %s').format(pub.error) : _('not found yet')), 'public'));
		else
			rows.push(row(_('Public address'), _('not set: LAN clients cannot use it (no hairpin)'), 'public'));

		if (status.forwards)
			rows.push(row(_('Forwards'), _('%d enabled of %d').format(status.forwards.enabled, status.forwards.total), 'forwards'));

		return E('table', { 'class': 'table dualnat-status' }, rows);
	},

	renderFinding: function(f) {
		var fix = partsText(MESSAGE_TEMPLATES, f.fix_parts, f.fix);

		return E('div', { 'class': 'dualnat-finding dualnat-finding-%s'.format(f.severity), 'data-code': f.code }, [
			dn.severity(f.severity), ' ', E('strong', {}, [ FINDING_TITLES[f.code] || f.title ]),
			E('p', {}, [ partsText(MESSAGE_TEMPLATES, f.message_parts, f.message) ]),
			fix ? E('p', { 'class': 'dualnat-fix' }, [ E('em', {}, [ _('What to do:') ]), ' ', fix ]) : '',
			(f.evidence && f.evidence.length)
				? E('details', {}, [ E('summary', {}, [ _('Evidence') ]), E('pre', {}, [ f.evidence.join('\n') ]) ]) : ''
		]);
	},

	renderDoctor: function(doctor) {
		if (doctor.__failed)
			return dn.serviceError(doctor.__failed);

		if (doctor.errors)
			return dn.errorBox(_('The health check cannot run:'), doctor.errors);

		var findings = doctor.findings || [],
		    system = findings.filter(function(f) { return f.forward == null; }),
		    names = Object.keys(doctor.forwards || {}),
		    nodes = [];

		if (system.length)
			nodes.push(E('div', { 'class': 'dualnat-system-findings' }, system.map(L.bind(this.renderFinding, this))));

		nodes.push(E('table', { 'class': 'table dualnat-doctor' }, [
			E('tr', { 'class': 'tr table-titles' }, [
				E('th', { 'class': 'th' }, _('Forward')),
				E('th', { 'class': 'th' }, _('Diagnosis'))
			])
		].concat(names.map(L.bind(function(name) {
			var own = findings.filter(function(f) { return f.forward == name; });

			return E('tr', { 'class': 'tr', 'data-forward': name }, [
				E('td', { 'class': 'td left top' }, [ E('strong', {}, [ name ]), E('br'),
					dn.severity(doctor.forwards[name].severity) ]),
				E('td', { 'class': 'td left' }, own.map(L.bind(this.renderFinding, this)))
			]);
		}, this)))));

		if (!names.length)
			nodes.push(E('p', {}, E('em', {}, _('No enabled forwards.'))));

		return nodes;
	},

	/*
	 * The live connections of each forward. Answered and Unanswered count the connections
	 * forwarded to the device; while the forward's rules are not loaded those were not
	 * forwarded by them (set up before, or by other rules) and are marked. Connections
	 * that reached this router but were not forwarded (they predate the rules, or their
	 * source is not allowed) are counted apart.
	 */
	renderConnections: function(doctor) {
		if (doctor.__failed || doctor.errors)
			return E('p', {}, E('em', {}, _('Not available.')));

		var fwd = doctor.forwards || {},
		    ct = doctor.conntrack || {},
		    staleNote = false;

		var rows = Object.keys(fwd).map(function(name) {
			var c = fwd[name].connections || {},
			    rules = fwd[name].rules,
			    state = !rules ? 'unknown' : (L.toArray(rules.missing).length ? 'missing' : 'loaded'),
			    stale = (state == 'missing') && ((c.replied || 0) + (c.unreplied || 0)) > 0,
			    mark = function(n) {
				    return (stale && n) ? [ String(n), E('span', { 'class': 'dualnat-stale', 'title': _('Not forwarded by the current rules: they are not loaded.') }, [ ' †' ]) ] : [ String(n) ];
			    };

			staleNote = staleNote || stale;

			return E('tr', { 'class': 'tr', 'data-forward': name, 'data-rules': state }, [
				E('td', { 'class': 'td' }, [ name ]),
				E('td', { 'class': 'td', 'data-col': 'rules' }, [
					state == 'loaded' ? E('span', { 'class': 'dualnat-sev dualnat-sev-ok' }, [ '\u2714 ', _('loaded') ])
					: state == 'missing' ? E('span', { 'class': 'dualnat-sev dualnat-sev-error' }, [ '\u2716 ', _('not loaded') ]) : '–'
				]),
				E('td', { 'class': 'td', 'data-col': 'total' }, [ String(c.total || 0) ]),
				E('td', { 'class': 'td', 'data-col': 'replied' }, mark(c.replied || 0)),
				E('td', { 'class': 'td', 'data-col': 'unreplied' }, mark(c.unreplied || 0)),
				E('td', { 'class': 'td', 'data-col': 'not_forwarded' }, [ String((c.untranslated || 0) + (c.not_allowed || 0)) ]),
				E('td', { 'class': 'td', 'data-col': 'clients' }, [ L.toArray(c.clients).join(', ') || '–' ]),
				E('td', { 'class': 'td', 'data-col': 'device_sees' }, [ L.toArray(c.device_sees).join(', ') || '–' ])
			]);
		});

		return [
			E('p', { 'class': 'cbi-section-descr' }, [ ct.source
				? _('From %s: %d tracked connections; refreshed every %d seconds.').format(ct.source, ct.entries, POLL_SECONDS)
				: _('The connection table cannot be read on this router.') ]),
			E('table', { 'class': 'table dualnat-connections' }, [
				E('tr', { 'class': 'tr table-titles' }, [
					E('th', { 'class': 'th' }, _('Forward')),
					E('th', { 'class': 'th' }, _('Rules')),
					E('th', { 'class': 'th' }, _('Connections')),
					E('th', { 'class': 'th' }, _('Answered')),
					E('th', { 'class': 'th' }, _('Unanswered')),
					E('th', { 'class': 'th', 'title': _('Connections that reached this router on the forward\'s port without being forwarded to the device: they started before the rules were loaded, or their source is not allowed.') }, _('Not forwarded')),
					E('th', { 'class': 'th' }, _('Clients')),
					E('th', { 'class': 'th' }, _('The device sees'))
				])
			].concat(rows)),
			staleNote ? E('p', { 'class': 'cbi-section-descr dualnat-stale-note' }, [
				'† ', _('Forwarded, but not by dualnat\'s current rules, which are not loaded: these connections were set up before (the kernel keeps a connection\'s translation for its whole life) or by other rules. New connections are not forwarded until the rules are loaded.')
			]) : ''
		];
	},

	renderPlan: function(plan) {
		if (plan.__failed)
			return dn.serviceError(plan.__failed);

		if (plan.errors)
			return dn.errorBox(_('There is no plan while the configuration has problems:'), plan.errors);

		var groups = {}, order = [];

		(plan.items || []).forEach(function(item) {
			var key = item.forward || '';

			if (!groups[key]) {
				groups[key] = [];
				order.push(key);
			}

			groups[key].push(item);
		});

		var warningParts = L.toArray(plan.warning_parts),
		    nodes = L.toArray(plan.warnings).map(function(w, i) {
			return E('div', { 'class': 'alert-message warning' }, [ partsText(REASON_TEMPLATES, warningParts[i], w) ]);
		});

		order.forEach(function(key) {
			nodes.push(E('div', { 'class': 'dualnat-plan-group', 'data-forward': key }, [
				E('h4', {}, [ key ? _('Forward %s').format(key) : _('This router') ]),
				E('table', { 'class': 'table' }, groups[key].map(function(item) {
					return E('tr', { 'class': 'tr' }, [
						E('td', { 'class': 'td left top', 'style': 'width:30%' }, [
							E('span', { 'class': 'label' }, [ KINDS[item.kind] || item.kind ]), E('br'),
							E('code', {}, [ itemSummary(item) ])
						]),
						E('td', { 'class': 'td left dualnat-reason' }, [ partsText(REASON_TEMPLATES, item.reason_parts, item.reason) ])
					]);
				}))
			]));
		});

		if (!order.length)
			nodes.push(E('p', {}, E('em', {}, _('Nothing to do: no forward is enabled.'))));

		return nodes;
	},

	poll: function() {
		return Promise.all([
			dn.callStatus().catch(function(err) { return { __failed: err }; }),
			dn.callDoctor().catch(function(err) { return { __failed: err }; })
		]).then(L.bind(function(res) {
			dom.content(this.statusNode, this.renderStatus(res[0], this.plan, this.config));
			dom.content(this.doctorNode, this.renderDoctor(res[1]));
			dom.content(this.connNode, this.renderConnections(res[1]));
		}, this));
	},

	render: function(data) {
		var status = data[0], plan = data[1], doctor = data[2], config = data[3];

		this.plan = plan;
		this.config = config.__failed ? {} : config;
		this.statusNode = E('div', { 'id': 'dualnat-status' }, this.renderStatus(status, plan, this.config));
		this.doctorNode = E('div', { 'id': 'dualnat-doctor' }, this.renderDoctor(doctor));
		this.connNode = E('div', { 'id': 'dualnat-connections' }, this.renderConnections(doctor));

		poll.add(L.bind(this.poll, this), POLL_SECONDS);

		return E('div', { 'class': 'cbi-map' }, [
			E('h2', {}, _('Dual NAT overview')),
			E('div', { 'class': 'cbi-map-descr' },
				_('Port forwarding for a bypass router: the main router forwards to this router, which forwards to the device.')),
			E('div', { 'class': 'cbi-section' }, [ E('h3', {}, _('Status')), this.statusNode ]),
			E('div', { 'class': 'cbi-section' }, [ E('h3', {}, _('Health check')), this.doctorNode ]),
			E('div', { 'class': 'cbi-section' }, [ E('h3', {}, _('Live connections')), this.connNode ]),
			E('div', { 'class': 'cbi-section' }, [ E('h3', {}, _('The plan and its reasons')),
				E('div', { 'id': 'dualnat-plan' }, this.renderPlan(plan)) ])
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
