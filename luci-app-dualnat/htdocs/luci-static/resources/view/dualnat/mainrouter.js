'use strict';
'require view';
'require dom';
'require form';
'require poll';
'require uci';
'require ui';
'require dualnat.common as dn';

/*
 * Main router: how dualnat sets up the main router (main_router_control: by
 * hand, UPnP, or the API of OpenWrt, OPNsense or iKuai) and its settings, what
 * the last push did to each forward (with "Push now"), and the steps to enter
 * on the main router's admin page for one vendor in English, Chinese or
 * Japanese (the backend's instructions, JSON schema 1): every value to type
 * and every block has a copy button. While dualnat pushes the forwards, the
 * steps of the forwards it pushed are folded away and only those that could not
 * be pushed remain.
 *
 * The password or API secret goes straight to the service (root-only file,
 * never into /etc/config/dualnat, never shown again): the page only learns
 * whether it is set. A push runs in the service's background; the page polls
 * its result.
 */

var LANGS = [
	[ 'en', 'English' ],
	[ 'zh', '简体中文' ],
	[ 'ja', '日本語' ]
];

var CONTROLS = [
	[ 'manual', _('By hand: enter the steps below on the main router') ],
	[ 'upnp', _('UPnP: any main router with UPnP IGD turned on') ],
	[ 'openwrt', _('OpenWrt: its web interface\'s ubus API') ],
	[ 'opnsense', _('OPNsense 26.1 or later: its API') ],
	[ 'ikuai', _('iKuai: its web API') ]
];
var API_KINDS = [ 'openwrt', 'opnsense', 'ikuai' ];
var POLL_SECONDS = 5;

/* Like LuCI's own views: without write access the actions that change the router are off. */
var isReadonlyView = !L.hasViewPermission() || null;
var fieldErrors = new dn.FieldErrors();

function confidenceNote(confidence) {
	if (confidence == 'confirmed')
		return null;

	return E('span', { 'class': 'dualnat-unconfirmed', 'title': _('Not confirmed for this router; check the hints.') },
		confidence == 'inferred' ? _('inferred') : _('unknown'));
}

/* A step as plain text, for its copy button. */
function stepText(step) {
	var lines = [ '%d. %s'.format(step.number, step.text) ];

	(step.fields || []).forEach(function(f) {
		lines.push('   %s: %s'.format(f.label, f.display));
	});

	if (step.code && step.code.text)
		lines.push(step.code.text.replace(/\n$/, ''));

	(step.notes || []).forEach(function(n) { lines.push('   - ' + n); });

	return lines.join('\n');
}

/* The forward a step is for ("forward.<name>" or "forward.<name>.<k>"), or null. */
function stepForward(step) {
	var m = /^forward\.([a-z0-9_]+)(?:\.\d+)?$/.exec(step.id || '');

	return m ? m[1] : null;
}

function formatTime(seconds) {
	return seconds ? new Date(seconds * 1000).toLocaleString() : '';
}

var STATES = {
	in_place: [ 'ok', _('in place') ],
	added: [ 'ok', _('added') ],
	updated: [ 'ok', _('updated') ],
	removed: [ 'info', _('removed') ],
	failed: [ 'error', _('failed') ]
};

return view.extend({
	load: function() {
		return Promise.all([
			L.resolveDefault(dn.callGetConfig(), {}),
			uci.load('dualnat'),
			dn.callMainRouterStatus().catch(function(err) { return { __failed: err }; })
		]);
	},

	/* -- the steps ----------------------------------------------------------------- */

	renderField: function(field) {
		var value = (field.kind == 'text')
			? E('code', { 'class': 'dualnat-value' }, [ field.display ])
			: (field.kind == 'select') ? E('strong', { 'class': 'dualnat-value' }, [ field.display ])
			: E('em', {}, [ field.display ]);

		return E('tr', { 'class': 'tr', 'data-field-id': field.id }, [
			E('td', { 'class': 'td left', 'style': 'width:35%' }, [
				field.label,
				field.optional ? E('span', { 'class': 'dualnat-optional' }, ' ' + _('(optional)')) : '',
				' ', confidenceNote(field.confidence) || ''
			]),
			E('td', { 'class': 'td left' }, [
				value,
				field.note ? E('div', { 'class': 'cbi-value-description' }, [ field.note ]) : ''
			]),
			E('td', { 'class': 'td right', 'style': 'width:8em' },
				field.copyable ? dn.copyButton(field.value, _('Copy "%s"').format(field.label)) : '')
		]);
	},

	renderStep: function(step) {
		var body = [
			E('div', { 'class': 'dualnat-step-head' }, [
				E('span', { 'class': 'dualnat-step-number' }, [ '%d.'.format(step.number) ]),
				' ',
				E('span', { 'class': 'dualnat-step-text' }, [ step.text ]),
				' ', confidenceNote(step.confidence) || '',
				E('span', { 'class': 'dualnat-step-copy' }, dn.copyButton(stepText(step), _('Copy this step')))
			])
		];

		if (step.fields && step.fields.length)
			body.push(E('table', { 'class': 'table dualnat-fields' },
				step.fields.map(L.bind(this.renderField, this))));

		if (step.code && step.code.text)
			body.push(E('div', { 'class': 'dualnat-code' }, [
				E('div', { 'class': 'dualnat-code-head' }, [
					step.code.target == 'bypass_router' ? _('On this bypass router (SSH):') : _('On the main router (SSH):'),
					' ', dn.copyButton(step.code.text, _('Copy the commands'))
				]),
				E('pre', {}, [ step.code.text ])
			]));

		if (step.notes && step.notes.length)
			body.push(E('ul', { 'class': 'dualnat-notes' }, step.notes.map(function(n) {
				return E('li', {}, [ n ]);
			})));

		if (step.hints && step.hints.length)
			body.push(E('div', { 'class': 'dualnat-hints' }, [
				E('strong', {}, _('What to look for:')),
				E('ul', {}, step.hints.map(function(h) { return E('li', {}, [ h ]); }))
			]));

		return E('div', { 'class': 'dualnat-step', 'data-step-id': step.id }, body);
	},

	/* The forwards that dualnat pushed and that need no steps (null: it pushes none). */
	pushedForwards: function() {
		var status = this.status || {},
		    last = status.last;

		if (!status.control || status.control.kind == 'manual' || !last || last.action != 'push')
			return null;

		var pushed = {};

		L.toArray(last.forwards).forEach(function(f) {
			if (f.state != 'failed')
				pushed[f.forward] = true;
		});

		return pushed;
	},

	renderInstructions: function(doc) {
		var nodes = [],
		    pushed = this.pushedForwards(),
		    folded = 0;

		if (doc.errors)
			return dn.errorBox(_('The settings for the main router cannot be worked out:'), doc.errors);

		nodes.push(E('h3', { 'class': 'dualnat-title' }, [ doc.title ]));
		nodes.push(E('p', { 'class': 'dualnat-intro' }, [ doc.intro ]));

		(doc.warnings || []).forEach(function(w) {
			nodes.push(E('div', { 'class': 'alert-message warning', 'data-warning-id': w.id }, [ w.text ]));
		});

		(doc.sections || []).forEach(L.bind(function(section) {
			var advice = /^(dhcp|dhcp_alt|hairpin|bridge)$/.test(section.id),
			    steps = (section.steps || []).filter(function(step) {
				    var name = stepForward(step);

				    if (pushed && name && pushed[name]) {
					    folded++;
					    return false;
				    }

				    return true;
			    });

			nodes.push(E('div', {
				'class': 'cbi-section dualnat-section' + (advice ? ' dualnat-advice' : ''),
				'data-section-id': section.id
			}, [
				E('h3', {}, [ section.title ])
			].concat(steps.map(L.bind(this.renderStep, this)))));
		}, this));

		if (folded)
			nodes.splice(2, 0, E('p', { 'class': 'dualnat-pushed-note' }, [
				_('dualnat configures the main router\'s port forwards itself: the steps of the forwards it pushed are left out, those that could not be pushed are below.')
			]));

		return E('div', { 'class': 'dualnat-instructions', 'data-lang': doc.lang, 'data-vendor': (doc.vendor || {}).id }, nodes);
	},

	refresh: function() {
		var target = this.target,
		    vendor = this.vendorSelect.value,
		    lang = this.langSelect.value;

		dom.content(target, E('p', { 'class': 'spinning' }, _('Loading…')));

		return dn.callInstructions(vendor, lang, 'json').then(L.bind(function(doc) {
			this.doc = doc;
			dom.content(target, this.renderInstructions(doc));
		}, this)).catch(function(err) {
			dom.content(target, dn.serviceError(err));
		});
	},

	/* -- what the main router holds -------------------------------------------------- */

	handlePush: function(ev) {
		return dn.callMainRouterPush().then(L.bind(function(reply) {
			if (reply.errors) {
				ui.addNotification(null, dn.errorList(_('The forwards cannot be pushed:'), reply.errors), 'danger');
				return;
			}

			return this.showStatus(reply);
		}, this)).catch(function(err) {
			ui.addNotification(null, dn.serviceErrorText(err), 'danger');
		});
	},

	renderForwards: function(last) {
		var rows = L.toArray(last.forwards).map(function(f) {
			var s = STATES[f.state] || [ 'info', f.state ];

			return E('tr', { 'class': 'tr', 'data-forward': f.forward, 'data-state': f.state }, [
				E('td', { 'class': 'td left top' }, [ E('strong', {}, [ f.forward ]) ]),
				E('td', { 'class': 'td left top' }, [ L.toArray(f.ports).join(', ') ]),
				E('td', { 'class': 'td left top' }, [
					E('span', { 'class': 'dualnat-sev dualnat-sev-%s'.format(s[0]) }, [ s[1] ])
				]),
				E('td', { 'class': 'td left dualnat-reason' }, [
					f.reason,
					(f.state == 'failed' && L.toArray(f.steps).length)
						? E('div', { 'class': 'dualnat-by-hand' }, [ _('Enter it by hand: see the steps below.') ]) : ''
				])
			]);
		});

		return E('table', { 'class': 'table dualnat-push-forwards' }, [
			E('tr', { 'class': 'tr table-titles' }, [
				E('th', { 'class': 'th' }, _('Forward')),
				E('th', { 'class': 'th' }, _('Ports')),
				E('th', { 'class': 'th' }, _('State')),
				E('th', { 'class': 'th' }, _('Why'))
			])
		].concat(rows));
	},

	renderOthers: function(last) {
		var others = L.toArray(last.held).filter(function(e) { return !e.ours; });

		if (!others.length)
			return '';

		return E('div', { 'class': 'dualnat-push-others' }, [
			E('p', {}, [ _('Other entries on the main router use the same external ports; dualnat leaves them alone:') ]),
			E('ul', {}, others.map(function(e) {
				return E('li', {}, [ '%s %s → %s:%s (%s)'.format(L.toArray(e.protocols).join('+'), e.external,
					e.target_ip || '?', e.target || '?', e.tag || _('no name')) ]);
			}))
		]);
	},

	renderStatus: function(status) {
		if (status.__failed)
			return dn.serviceError(status.__failed);

		if (status.errors)
			return dn.errorBox(_('The main router\'s state cannot be shown:'), status.errors);

		var control = status.control || {},
		    runner = status.runner || {},
		    last = status.last,
		    busy = runner.running || runner.queued,
		    state = busy ? 'running' : !last ? 'never' : last.ok ? 'ok' : 'failed',
		    nodes = [];

		if (control.kind == 'manual' && !status.pushed_to)
			return E('p', { 'class': 'dualnat-push-state', 'data-state': 'manual' }, [
				_('dualnat does not configure the main router: enter the steps below by hand, or choose a method above.')
			]);

		var head = busy ? [ E('span', { 'class': 'spinning' }, [ _('Pushing to the main router…') ]) ]
			: !last ? [ _('Nothing pushed yet.') ]
			: [ dn.severity(last.ok ? 'ok' : 'error'), ' ',
			    (last.action == 'remove' ? _('Last removal: %s') : _('Last push: %s')).format(formatTime(last.at)), ' ',
			    last.ok ? _('every forward is in place.') : _('some forwards could not be pushed.') ];

		head.push(' ', E('button', {
				'class': 'cbi-button cbi-button-apply',
				'id': 'dualnat-push-now',
				'click': ui.createHandlerFn(this, 'handlePush'),
				'disabled': (isReadonlyView || busy || control.kind == 'manual') ? '' : null
			}, [ _('Push now') ]));

		nodes.push(E('p', { 'class': 'dualnat-push-state', 'data-state': state }, head));

		if (last && last.error)
			nodes.push(E('div', { 'class': 'alert-message warning' }, [ last.error.reason ]));

		if (last && L.toArray(last.forwards).length)
			nodes.push(this.renderForwards(last));

		if (last)
			nodes.push(this.renderOthers(last));

		if (runner.next_at && !busy && control.kind != 'manual')
			nodes.push(E('p', { 'class': 'cbi-section-descr' }, [
				_('The service checks the main router again at %s and repairs what it lost (a reboot, an expired UPnP lease).').format(formatTime(runner.next_at))
			]));

		return nodes;
	},

	showStatus: function(status) {
		var before = JSON.stringify((this.status || {}).last || null);

		this.status = status;
		dom.content(this.statusNode, this.renderStatus(status));

		if (this.secretState)
			this.updateSecretState(((status || {}).control || {}).secret_set);

		if (this.doc && JSON.stringify((status || {}).last || null) != before)
			dom.content(this.target, this.renderInstructions(this.doc));
	},

	poll: function() {
		return dn.callMainRouterStatus().then(L.bind(this.showStatus, this), L.bind(function(err) {
			this.showStatus({ __failed: err });
		}, this));
	},

	/* -- the secret ------------------------------------------------------------------ */

	updateSecretState: function(set) {
		this.secretState.setAttribute('data-set', set ? 'true' : 'false');
		this.secretState.textContent = set ? _('set') : _('not set');
	},

	handleSecret: function(ev) {
		var kind = this.map.lookupOption('main_router_control', 'main')[0].formvalue('main'),
		    input = document.getElementById('dualnat-secret'),
		    value = input.value;

		return dn.callSetMainRouterSecret(API_KINDS.indexOf(kind) >= 0 ? kind : '', value).then(L.bind(function(reply) {
			if (reply.errors) {
				ui.addNotification(null, dn.errorList(_('The secret cannot be stored:'), reply.errors), 'danger');
				return;
			}

			input.value = '';
			this.updateSecretState(reply.secret_set);
			ui.addNotification(null, E('p', {}, [ reply.secret_set
				? _('The secret is stored on this router, readable by root only.')
				: _('The secret is deleted.') ]), 'info');
		}, this)).catch(function(err) {
			ui.addNotification(null, dn.serviceErrorText(err), 'danger');
		});
	},

	renderSecret: function() {
		var set = ((this.status || {}).control || {}).secret_set;

		this.secretState = E('span', { 'class': 'dualnat-secret-state' });
		this.updateSecretState(set);

		return E('div', { 'class': 'dualnat-secret' }, [
			E('input', {
				'type': 'password',
				'id': 'dualnat-secret',
				'class': 'cbi-input-password',
				'autocomplete': 'new-password',
				'placeholder': _('Type to replace it'),
				'disabled': isReadonlyView
			}),
			' ',
			E('button', {
				'class': 'cbi-button cbi-button-save',
				'id': 'dualnat-secret-set',
				'click': ui.createHandlerFn(this, 'handleSecret'),
				'disabled': isReadonlyView
			}, [ _('Store') ]),
			' ', this.secretState
		]);
	},

	/* -- the form -------------------------------------------------------------------- */

	/* Every setting as Save would leave it: this form's options over what uci holds (the
	 * backend checks the settings as a whole). */
	settingsValues: function() {
		var values = {},
		    section = this.section;

		dn.settingsFields.forEach(function(name) {
			var v = uci.get('dualnat', 'main', name);

			if (v != null)
				values[name] = v;
		});

		section.children.forEach(function(opt) {
			if (dn.settingsFields.indexOf(opt.option) < 0)
				return;

			if (opt.isActive('main'))
				values[opt.option] = opt.formvalue('main');
			else
				delete values[opt.option];
		});

		return values;
	},

	/* Check every setting with the backend, then let LuCI stage this form; rejects when not saved. */
	save: function(ev) {
		return dn.saveSettings(this, ev, fieldErrors, 'main', L.bind(this.settingsValues, this));
	},

	handleSave: dn.saveHandlers.handleSave,
	handleSaveApply: dn.saveHandlers.handleSaveApply,

	renderForm: function() {
		var m, s, o, self = this;

		m = new form.Map('dualnat', _('Main router'),
			_('dualnat can enter the port forwards on the main router itself: by UPnP, which most home routers offer, or through the API of an OpenWrt, OPNsense or iKuai main router. It touches only its own entries (named "dualnat …"), keeps them as the forwards change, and says for each forward what happened. The DHCP change and NAT loopback below stay yours to enter.'));

		s = m.section(form.NamedSection, 'main', 'dualnat', _('How dualnat sets up the main router'));
		s.addremove = false;

		o = s.option(form.ListValue, 'main_router_control', _('Method'));
		CONTROLS.forEach(function(c) { o.value(c[0], c[1]); });
		o.default = 'manual';
		o.validate = fieldErrors.validator();

		o = s.option(form.Value, 'main_router_lease', _('UPnP lease (seconds)'),
			_('How long each mapping lasts before the service renews it (0: as long as the main router allows; a rebooted main router forgets them, and the service maps them again within a minute).'));
		o.placeholder = '3600';
		o.datatype = 'uinteger';
		o.depends('main_router_control', 'upnp');
		o.validate = fieldErrors.validator();

		o = s.option(form.Value, 'main_router_url', _('Address of its web interface'),
			_('http:// or https:// and the main router\'s LAN address, with a port if it uses another one. Empty: https for OPNsense, http otherwise.'));
		o.placeholder = 'http://192.168.1.1';
		API_KINDS.forEach(function(k) { o.depends('main_router_control', k); });
		o.validate = fieldErrors.validator();

		o = s.option(form.Value, 'main_router_user', _('User'),
			_('OpenWrt: a user whose rpcd ACL may change the firewall (root). OPNsense: the API key (System → Access → Users → API keys; privilege Firewall: NAT). iKuai: the admin user.'));
		API_KINDS.forEach(function(k) { o.depends('main_router_control', k); });
		o.validate = fieldErrors.validator();

		o = s.option(form.DummyValue, '_secret', _('Password or API secret'),
			_('Kept on this router in /etc/dualnat/secrets, readable by root only; never in /etc/config/dualnat and never shown again. For OPNsense: the API secret.'));
		API_KINDS.forEach(function(k) { o.depends('main_router_control', k); });
		o.renderWidget = function() { return self.renderSecret(); };

		o = s.option(form.Value, 'main_router_ca', _('CA certificate file'),
			_('For HTTPS with a certificate of its own (OPNsense by default): the certificate, or its CA, as a PEM file on this router.'));
		o.placeholder = '/etc/ssl/certs/main-router.pem';
		API_KINDS.forEach(function(k) { o.depends('main_router_control', k); });
		o.validate = fieldErrors.validator();

		o = s.option(form.Flag, 'main_router_insecure', _('Do not check its HTTPS certificate'),
			_('Risk: anyone on the LAN who answers in the main router\'s place gets the password. Prefer the CA certificate file.'));
		API_KINDS.forEach(function(k) { o.depends('main_router_control', k); });
		o.validate = fieldErrors.validator();

		this.map = m;
		this.section = s;

		return m.render().then(function(node) {
			var risk = node.querySelector('[data-name="main_router_insecure"] .cbi-value-description');

			if (risk)
				risk.classList.add('dualnat-risk');

			return dn.showValidation(node);
		});
	},

	render: function(data) {
		var config = data[0] || {},
		    configured = config.main_router_vendor || 'generic',
		    lang = dn.uiLang();

		this.status = data[2];

		this.vendorSelect = E('select', {
			'class': 'cbi-input-select',
			'id': 'dualnat-vendor',
			'change': L.bind(this.refresh, this)
		}, dn.vendors.map(function(v) {
			return E('option', { 'value': v[0], 'selected': (v[0] == configured) ? '' : null },
				[ v[0] == configured ? _('%s (configured)').format(v[1]) : v[1] ]);
		}));

		this.langSelect = E('select', {
			'class': 'cbi-input-select',
			'id': 'dualnat-lang',
			'change': L.bind(this.refresh, this)
		}, LANGS.map(function(l) {
			return E('option', { 'value': l[0], 'selected': (l[0] == lang) ? '' : null }, [ l[1] ]);
		}));

		this.target = E('div', { 'id': 'dualnat-instructions' });
		this.statusNode = E('div', { 'id': 'dualnat-push' }, this.renderStatus(this.status));

		return Promise.all([ this.renderForm(), this.refresh() ]).then(L.bind(function(res) {
			poll.add(L.bind(this.poll, this), POLL_SECONDS);

			return E('div', {}, [
				res[0],
				E('div', { 'class': 'cbi-section' }, [
					E('h3', {}, _('On the main router')),
					this.statusNode
				]),
				E('div', { 'class': 'cbi-section' }, [
					E('h3', {}, _('Steps to enter by hand')),
					E('div', { 'class': 'cbi-section-descr' },
						_('Enter these settings on the main router: the port forwards to this bypass router, the DHCP change and what NAT loopback needs. Values in boxes are exact; copy them.')),
					E('div', { 'class': 'cbi-value' }, [
						E('label', { 'class': 'cbi-value-title', 'for': 'dualnat-vendor' }, _('Main router')),
						E('div', { 'class': 'cbi-value-field' }, this.vendorSelect)
					]),
					E('div', { 'class': 'cbi-value' }, [
						E('label', { 'class': 'cbi-value-title', 'for': 'dualnat-lang' }, _('Language of the steps')),
						E('div', { 'class': 'cbi-value-field' }, this.langSelect)
					]),
					this.target
				])
			]);
		}, this));
	}
});
