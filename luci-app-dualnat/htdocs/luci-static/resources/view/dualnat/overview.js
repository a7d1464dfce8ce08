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
 *
 * A transparent proxy found on this router (status `proxies`) gets a row: whether
 * it runs and in which mode, and what dualnat does about it (its state: applied,
 * pending with Apply, manual with the steps, off, none), with the plan's reason
 * and the entries dualnat keeps in its settings.
 */

var POLL_SECONDS = 10;

/* Like LuCI's own views: without write access (the menu node's ACL group granted read
 * only) the actions that change the router are disabled. */
var isReadonlyView = !L.hasViewPermission() || null;

var KINDS = {
	dnat: _('Port forward (DNAT)'),
	snat: _('Source rewrite (SNAT)'),
	masquerade: _('Masquerade'),
	sysctl: _('Kernel setting'),
	dhcp: _('DHCP'),
	proxy: _('Transparent proxy')
};

/* How a proxy takes a protocol (technical names, as the backend's reasons give them). */
var CAPTURES = { redirect: 'REDIRECT', tproxy: 'TPROXY', tun: 'TUN' };

/* An entry dualnat keeps in a proxy's settings, as the state file and the plan have it. */
function entrySummary(e) {
	switch (e.type) {
	case 'uci':
		return '%s.%s.%s \'%s\''.format(e.config, e.section, e.option, e.value);
	case 'file':
		return '%s: %s'.format(e.path, e.line);
	}

	return e.path;
}

function proxyMode(p) {
	if (!p.tcp && !p.udp)
		return '';

	var mode = p.udp
		? _('TCP %s, UDP %s').format(CAPTURES[p.tcp] || p.tcp, CAPTURES[p.udp] || p.udp)
		: _('TCP %s, UDP not proxied').format(CAPTURES[p.tcp] || p.tcp);

	return p.fake_ip ? _('%s, fake-ip DNS').format(mode) : mode;
}

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
	case 'proxy':
		var what = L.toArray(item.entries).map(entrySummary).concat(
			L.toArray(item.remove).map(function(e) { return _('remove %s').format(entrySummary(e)); }));

		return '%s: %s'.format(item.name, what.length ? what.join(', ') : _('nothing to change'));
	}

	return item.kind;
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
				ui.showModal(_('Changes dualnat would write'), [
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

	/* `dualnat revert` after a confirmation: every rule and setting dualnat made goes. */
	handleRevert: function(ev) {
		var self = this;

		ui.showModal(_('Remove dualnat\'s rules'), [
			E('p', {}, [ _('This takes dualnat\'s sections out of /etc/config/firewall and /etc/config/dhcp, reloads the firewall and puts the kernel settings back. The forwards stop working until you apply again; your forwards stay in the settings.') ]),
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'cbi-button', 'click': ui.hideModal }, _('Cancel')), ' ',
				E('button', {
					'class': 'cbi-button cbi-button-negative',
					'click': ui.createHandlerFn(this, function() {
						return dn.callRevert(false).then(function(res) {
							ui.hideModal();
							if (res.errors) {
								ui.addNotification(null, dn.errorList(_('The rules cannot be removed:'), res.errors), 'danger');
								return;
							}
							ui.addNotification(null, [
								E('p', {}, [ _('dualnat\'s rules were removed.') ]),
								E('ul', {}, L.toArray(res.messages).map(function(m) { return E('li', {}, [ m ]); }))
							], 'info');
							return self.poll();
						}).catch(function(err) {
							ui.hideModal();
							ui.addNotification(null, dn.serviceErrorText(err), 'danger');
						});
					})
				}, _('Remove'))
			])
		]);
	},

	revertButton: function() {
		return E('button', {
			'class': 'cbi-button cbi-button-negative dualnat-revert',
			'click': ui.createHandlerFn(this, 'handleRevert'),
			'disabled': isReadonlyView
		}, _('Remove dualnat\'s rules'));
	},

	/* The doctor's findings about the loaded rules: one line each, the fixes once; the
	 * status holds the first ones, `more` counts the others (the health check has all). */
	renderRuleReason: function(reason, withFix, more) {
		var fixes = [],
		    items;

		reason.forEach(function(f) {
			var fix = f.fix;

			if (fix && fixes.indexOf(fix) < 0)
				fixes.push(fix);
		});

		return E('div', { 'class': 'dualnat-rule-reason' }, [
			E('ul', {}, (items = reason.map(function(f) {
				var title = f.title;

				return E('li', { 'data-code': f.code, 'data-forward': f.forward || null }, [
					f.forward ? _('Forward %s: %s').format(f.forward, title) : title
				]);
			}), more > 0 ? items.concat(E('li', { 'class': 'dualnat-reason-more' }, [
				_('… and %d more: the health check below lists every one.').format(more)
			])) : items)),
			(withFix && fixes.length)
				? E('p', { 'class': 'dualnat-fix' }, [ E('em', {}, [ _('What to do:') ]), ' ', fixes.join(' ') ]) : ''
		]);
	},

	/* "Show the changes" (a dry run) and "Apply now", where something waits for apply. */
	applyButtons: function() {
		return [
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
	},

	renderFirewall: function(status) {
		var reason = L.toArray(status.firewall_reason),
		    more = +status.firewall_reason_more || 0,
		    nodes;

		switch (status.firewall) {
		case 'applied':
			nodes = [ dn.severity('ok'), ' ', _('The firewall has the current rules: they are in /etc/config/firewall and loaded.'), ' ',
				this.revertButton() ];
			break;

		case 'pending':
			nodes = [
				dn.severity('warning'), ' ', _('The firewall does not have the current rules yet: /etc/config/firewall differs from the plan.'), ' '
			].concat(this.applyButtons());

			if (reason.length)
				nodes.push(E('p', {}, [ _('Not loaded yet:') ]), this.renderRuleReason(reason, false, more));
			break;

		case 'broken':
			nodes = [
				dn.severity('error'), ' ', _('/etc/config/firewall has the current rules, but the firewall has not loaded them all:'),
				this.renderRuleReason(reason, true, more), this.revertButton()
			];
			break;

		default:
			nodes = [ _('Unknown') ];

			if (reason.length)
				nodes.push(this.renderRuleReason(reason, true, more));
		}

		return nodes;
	},

	/* One transparent proxy: whether it runs, its mode, and what dualnat does about it. */
	renderProxy: function(p) {
		var running = p.running ? _('running')
			: (p.enabled ? _('switched on, its rules are not loaded') : _('installed, switched off'));
		var mode = proxyMode(p),
		    nodes = [ E('strong', {}, [ p.name ]), ' (', running, mode ? ', ' + mode : '', ')', E('br') ];

		switch (p.state) {
		case 'applied':
			nodes.push(dn.severity('ok'), ' ', _('Forwarded connections are kept away from it.'));
			break;

		case 'pending':
			nodes.push(dn.severity('warning'), ' ', _('dualnat has to change its settings to keep forwarded connections away from it.'), ' ');
			nodes.push.apply(nodes, this.applyButtons());
			break;

		case 'manual':
			nodes.push(dn.severity('warning'), ' ', _('dualnat cannot keep hairpin connections away from it: it needs a setting by hand.'));
			break;

		case 'off':
			nodes.push(_('Off in the settings (Transparent proxy): dualnat leaves it alone.'));
			break;

		default:
			nodes.push(_('Nothing to do: it is switched off, or no forward is enabled.'));
		}

		L.toArray(p.warnings).forEach(function(w) {
			nodes.push(E('p', { 'class': 'dualnat-fix' }, [ w ]));
		});

		if (p.reason || L.toArray(p.entries).length)
			nodes.push(E('details', {}, [
				E('summary', {}, [ _('What dualnat changes and why') ]),
				L.toArray(p.entries).length
					? E('ul', {}, L.toArray(p.entries).map(function(e) { return E('li', {}, [ E('code', {}, [ entrySummary(e) ]) ]); }))
					: '',
				p.reason ? E('p', {}, [ p.reason ]) : ''
			]));

		var tr = row(_('Transparent proxy'), nodes, 'proxy-' + p.proxy);
		tr.setAttribute('data-state', p.state || 'none');
		return tr;
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
		else if (pub.mode == 'auto' && pub.no_public)
			rows.push(row(_('Public address'), E('span', { 'class': 'dualnat-sev-warning' }, [
				_('none: the main router %s reports no public address of its own (carrier-grade NAT, or another router in front of it), so there is no hairpin').format(pub.no_public)
			]), 'public'));
		else if (pub.mode == 'auto')
			rows.push(row(_('Public address'), pub.address
				? _('%s (found %s)').format(pub.address, formatTime(pub.found_at))
				: (pub.error ? _('not found yet: %s').format(pub.error) : _('not found yet')), 'public'));
		else
			rows.push(row(_('Public address'), _('not set: LAN clients cannot use it (no hairpin)'), 'public'));

		if (status.forwards)
			rows.push(row(_('Forwards'), _('%d enabled of %d').format(status.forwards.enabled, status.forwards.total), 'forwards'));

		L.toArray(status.proxies).forEach(L.bind(function(p) {
			rows.push(this.renderProxy(p));
		}, this));

		return E('table', { 'class': 'table dualnat-status' }, rows);
	},

	renderFinding: function(f) {
		var fix = f.fix;

		return E('div', { 'class': 'dualnat-finding dualnat-finding-%s'.format(f.severity), 'data-code': f.code }, [
			dn.severity(f.severity), ' ', E('strong', {}, [ f.title ]),
			E('p', {}, [ f.message ]),
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

		var nodes = L.toArray(plan.warnings).map(function(w) {
			return E('div', { 'class': 'alert-message warning' }, [ w ]);
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
						E('td', { 'class': 'td left dualnat-reason' }, [ item.reason ])
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
