'use strict';
'require view';
'require baseclass';
'require dom';
'require form';
'require uci';
'require ui';
'require dualnat.common as dn';

/*
 * Port forwards: the `config forward` sections of /etc/config/dualnat as a
 * grid. Every add and edit is checked by the backend before LuCI stages it:
 * the page sends every forward as Save & Apply would commit it (the saved
 * config with the session's staged changes, as uci.sections() gives them, and
 * the edited forward as the dialog holds it), and the backend checks that
 * whole would-be configuration (check_forwards). Errors of the edited forward
 * appear on its fields, the others in a notice naming their forward. Save &
 * Apply goes through LuCI's apply with rollback, and the service re-applies
 * the firewall when the config changes.
 *
 * The dialog shows why a field is invalid as text below it. Without write
 * access to /etc/config/dualnat, LuCI's form makes the page read-only (add,
 * delete, the fields, the dialog's Save and the page's buttons disabled);
 * Edit still opens a forward to look at.
 *
 * "Test" opens a live panel: the service watches the forward's connections
 * on this router (test_start), the panel polls it every second (test_poll)
 * and shows each attempt as it happens, the seconds left and the verdict with
 * its fix; "Self-test" tests again with a connection from this router to the
 * main router's public address. Closing the panel, or leaving the page, stops
 * the test (test_stop; the service also stops a test nobody polls).
 */

var POLL_MS = 1000;

var fieldErrors = new dn.FieldErrors();

/*
 * The forward as LuCI would stage it, for the backend: with `fromForm`, the
 * value of each option shown on the page (the dialog's fields, the grid's
 * enable boxes); otherwise, and for options not on the page, the value in
 * uci (the saved config merged with the staged changes).
 */
function sectionValues(section, section_id, fromForm) {
	var values = {};

	section.children.forEach(function(opt) {
		if (dn.forwardFields.indexOf(opt.option) < 0)
			return;

		values[opt.option] = (fromForm && section.map.root && opt.isActive(section_id))
			? opt.formvalue(section_id) : uci.get('dualnat', section_id, opt.option);

		if (values[opt.option] == null && opt.default != null)
			values[opt.option] = opt.default;
	});

	return values;
}

/*
 * Every forward, {id: forward}, as Save & Apply would commit it: the forward
 * sections of uci (staged additions and deletions included, in their order),
 * read through the options of `section` (see sectionValues).
 */
function stagedForwards(section, fromForm) {
	var forwards = {};

	uci.sections('dualnat', 'forward', function(s, section_id) {
		forwards[section_id] = dn.forwardToApi(sectionValues(section, section_id, fromForm));
	});

	return forwards;
}

/* The errors of a grid save as one line per forward (enabled now: "cannot be enabled"). */
function saveErrorText(errors, enabling) {
	var byForward = {}, other = {}, lines = [];

	Object.keys(errors).forEach(function(key) {
		var m = /^forwards\.([a-z0-9_]+)\.(.+)$/.exec(key);

		if (!m) {
			other[key] = errors[key];
			return;
		}

		byForward[m[1]] = byForward[m[1]] || {};
		byForward[m[1]][m[2]] = errors[key];
	});

	Object.keys(byForward).forEach(function(id) {
		var text = (enabling[id] ? _('Forward "%s" cannot be enabled: %s') : _('Forward "%s" cannot be saved: %s'));
		lines.push(text.format(id, dn.flattenErrors(byForward[id]).join('; ')));
	});

	if (Object.keys(other).length)
		lines.push(dn.flattenErrors(other).join('; '));

	return lines.join(' ');
}

function modalNotice(modalMap, node) {
	var old = modalMap.root.querySelector('.dualnat-modal-notice');

	if (old)
		old.parentNode.removeChild(old);

	if (node) {
		node.classList.add('dualnat-modal-notice');
		modalMap.root.insertBefore(node, modalMap.root.firstChild);
	}
}

/* The live test of one forward in a modal panel (see the top of this file). */
var TestPanel = baseclass.extend({
	__init__: function(section_id) {
		this.id = section_id;
		this.timer = null;
		this.closed = false;
		this.events = E('ul', { 'class': 'dualnat-test-events' });
		this.status = E('div', { 'class': 'dualnat-test-status' });
		this.selfTest = E('div', { 'class': 'dualnat-test-self' });
		this.verdict = E('div', { 'class': 'dualnat-test-verdict' });
		this.intro = E('p', { 'class': 'dualnat-test-intro' });
		this.againBtn = E('button', { 'class': 'cbi-button cbi-button-action dualnat-test-again', 'disabled': '',
			'click': L.bind(this.restart, this, false) }, [ _('Test again') ]);
		this.selfBtn = E('button', { 'class': 'cbi-button cbi-button-neutral dualnat-test-selftest',
			'title': _('Connect from this router to the main router\'s public address and port'),
			'click': L.bind(this.restart, this, true) }, [ _('Self-test') ]);
		this.stopBtn = E('button', { 'class': 'cbi-button cbi-button-negative dualnat-test-stop',
			'click': L.bind(this.stop, this) }, [ _('Stop') ]);
		this.onHide = L.bind(this.close, this);
	},

	open: function() {
		ui.showModal(_('Live test: %s').format(this.id), [
			this.intro, this.status, this.events, this.selfTest, this.verdict,
			E('div', { 'class': 'right' }, [
				this.selfBtn, ' ', this.againBtn, ' ', this.stopBtn, ' ',
				E('button', { 'class': 'cbi-button dualnat-test-close', 'click': L.bind(this.close, this) }, [ _('Close') ])
			])
		], 'dualnat-test-panel');
		window.addEventListener('pagehide', this.onHide);
		return this.start(false);
	},

	start: function(selfTest) {
		this.clear();
		return dn.callTestStart(this.id, 0, !!selfTest).then(L.bind(this.show, this),
			L.bind(this.failed, this));
	},

	/* Stop the running test, wait until it has ended, and start a new one. */
	restart: function(selfTest) {
		var self = this;

		this.cancel();
		this.busy(_('Starting…'));

		return dn.callTestStop(this.id).then(function wait(data) {
			if (data && data.running && !self.closed)
				return new Promise(function(resolve) { window.setTimeout(resolve, 300); })
					.then(function() { return dn.callTestPoll(self.id); }).then(wait);

			return self.closed ? null : self.start(selfTest);
		}).catch(L.bind(this.failed, this));
	},

	stop: function() {
		this.cancel();
		return dn.callTestStop(this.id).then(L.bind(this.show, this), L.bind(this.failed, this));
	},

	close: function() {
		this.closed = true;
		this.cancel();
		window.removeEventListener('pagehide', this.onHide);
		ui.hideModal();
		return dn.callTestStop(this.id).catch(function() {});
	},

	cancel: function() {
		if (this.timer != null)
			window.clearTimeout(this.timer);
		this.timer = null;
	},

	clear: function() {
		dom.content(this.events, []);
		dom.content(this.selfTest, []);
		dom.content(this.verdict, []);
		this.busy(_('Starting…'));
	},

	busy: function(text) {
		dom.content(this.status, E('span', { 'class': 'spinning' }, [ text ]));
	},

	poll: function() {
		this.timer = null;
		return dn.callTestPoll(this.id).then(L.bind(this.show, this), L.bind(this.failed, this));
	},

	failed: function(err) {
		this.cancel();
		dom.content(this.status, dn.serviceErrorText(err));
		this.againBtn.disabled = false;
	},

	show: function(data) {
		if (this.closed || !data)
			return;

		if (data.errors) {
			this.cancel();
			dom.content(this.status, dn.errorBox(_('The test cannot run:'), data.errors));
			this.againBtn.disabled = false;
			return;
		}

		this.intro.textContent = data.target
			? _('Connect now from outside — a phone on mobile data, not Wi-Fi — to %s. Each attempt shows up here as it happens.').format(data.target)
			: '';

		dom.content(this.events, (data.events || []).map(function(ev) {
			return E('li', { 'class': 'dualnat-test-event', 'data-code': ev.code, 'data-path': ev.path }, [
				E('span', { 'class': 'dualnat-test-at' }, [ Number(ev.at || 0).toFixed(1) + ' s' ]), ' ',
				ev.attempt ? E('strong', {}, [ '#%d '.format(ev.attempt) ]) : '',
				ev.text
			]);
		}));

		this.showSelfTest(data.self_test);
		this.stopBtn.disabled = !data.running;
		this.againBtn.disabled = !!data.running;

		if (data.running) {
			this.busy(_('Watching… %d s left').format(Math.ceil(data.left || 0)));
			this.timer = window.setTimeout(L.bind(this.poll, this), POLL_MS);
			return;
		}

		dom.content(this.status, data.error ? E('p', { 'class': 'dualnat-test-error' }, [ data.error ]) : '');
		this.showVerdict(data.verdict);
	},

	showSelfTest: function(st) {
		if (!st || !st.proves) {
			dom.content(this.selfTest, []);
			return;
		}

		dom.content(this.selfTest, [
			E('strong', {}, [ _('What the self-test shows') ]),
			E('p', {}, [ st.text || '' ]),
			E('p', { 'class': 'dualnat-test-proves' }, [ st.proves ]),
			E('p', { 'class': 'dualnat-test-cannot' }, [ st.cannot ])
		]);
	},

	showVerdict: function(v) {
		if (!v) {
			dom.content(this.verdict, []);
			return;
		}

		dom.content(this.verdict, E('div', { 'class': 'dualnat-finding', 'data-verdict': v.code }, [
			E('div', {}, [ dn.severity(v.severity), ' ', E('strong', {}, [ v.title ]) ]),
			E('p', {}, [ v.message ]),
			v.fix ? E('p', { 'class': 'dualnat-fix' }, [ E('em', {}, [ _('Fix:') ]), ' ', v.fix ]) : ''
		]));
	}
});

var ForwardSection = form.GridSection.extend({
	/* Edit and Delete, and before them "Test": the live panel of that forward. */
	renderRowActions: function(section_id) {
		var td = this.super('renderRowActions', [ section_id ]),
		    box = td.firstChild || td;

		box.insertBefore(E('button', {
			'class': 'cbi-button cbi-button-action dualnat-test-button',
			'title': _('Watch this forward live while you connect from outside'),
			'click': function(ev) {
				ev.preventDefault();
				return new TestPanel(section_id).open();
			}
		}, [ _('Test') ]), box.firstChild);

		return td;
	},

	/* The dialog as LuCI opens it, with the reasons of invalid fields shown below them. */
	renderMoreOptionsModal: function(section_id, ev) {
		return Promise.resolve(this.super('renderMoreOptionsModal', arguments)).then(L.bind(function() {
			var node = this.getActiveModalMap();

			if (node)
				dn.showValidation(node);
		}, this));
	},

	/* Check with the backend first; stage (LuCI's own save) only when nothing is wrong. */
	handleModalSave: function(modalMap, ev) {
		var section_id = modalMap.section,
		    modalSection = modalMap.children[0],
		    self = this;

		fieldErrors.clear(section_id);
		modalNotice(modalMap, null);

		var invalid = modalSection.children.some(function(opt) {
			opt.triggerValidation(section_id);
			return opt.isActive(section_id) && !opt.isValid(section_id);
		});

		if (invalid)
			return this.super('handleModalSave', [ modalMap, ev ]);

		/* The other forwards as staged (LuCI's modal save stages only the dialog). */
		var forwards = stagedForwards(this, false);

		forwards[section_id] = dn.forwardToApi(sectionValues(modalSection, section_id, true));

		return dn.callCheckForwards(forwards).then(function(reply) {
			if (reply.errors) {
				var split = dn.splitForwardErrors(reply.errors, section_id),
				    rest = Object.assign(fieldErrors.show(modalMap, section_id, split.own), split.rest);

				if (Object.keys(rest).length)
					modalNotice(modalMap, dn.errorBox(_('The forward cannot be saved:'), rest));

				return;
			}

			fieldErrors.clear(section_id);
			return self.super('handleModalSave', [ modalMap, ev ]);
		}).catch(function(err) {
			modalNotice(modalMap, dn.serviceError(err));
		});
	}
});

return view.extend({
	load: function() {
		return Promise.all([
			L.resolveDefault(dn.callHostHints(), {}),
			uci.load('dualnat')
		]);
	},

	/*
	 * Save checks every forward as the grid would stage it (the enable boxes as
	 * ticked) with the backend first; rejects, with a notice, when not saved.
	 */
	save: function(ev) {
		var section = this.section,
		    enabling = {};

		section.cfgsections().forEach(function(section_id) {
			var opt = section.getOption('enabled'),
			    now = opt.formvalue(section_id),
			    before = opt.cfgvalue(section_id) || opt.default;

			if (now != before && now == '1')
				enabling[section_id] = true;
		});

		return dn.callCheckForwards(stagedForwards(section, true)).then(L.bind(function(reply) {
			if (reply.errors) {
				ui.addNotification(null, E('p', {}, [ saveErrorText(reply.errors, enabling) ]), 'danger');
				return Promise.reject(new Error('invalid forwards'));
			}

			return this.super('handleSave', [ ev ]);
		}, this), function(err) {
			ui.addNotification(null, dn.serviceErrorText(err), 'danger');
			return Promise.reject(err);
		});
	},

	handleSave: dn.saveHandlers.handleSave,
	handleSaveApply: dn.saveHandlers.handleSaveApply,

	render: function(data) {
		var hosts = data[0] || {},
		    m, s, o;

		m = new form.Map('dualnat', _('Port forwards'),
			_('Forwards from the Internet to devices on the LAN. The main router forwards each port to this bypass router, which forwards it to the device. The Main router page says what to enter there.'));

		s = m.section(ForwardSection, 'forward');
		s.addremove = true;
		s.anonymous = false;
		s.nodescriptions = true;
		s.addbtntitle = _('Add forward');
		s.sectiontitle = function(section_id) {
			return uci.get('dualnat', section_id, 'description') || section_id;
		};
		s.modaltitle = function(section_id) {
			return _('Port forward: %s').format(section_id);
		};

		s.tab('general', _('General Settings'));
		s.tab('advanced', _('Advanced Settings'));

		o = s.taboption('general', form.Flag, 'enabled', _('Enable'));
		o.default = '1';
		o.editable = true;
		o.validate = fieldErrors.validator();

		o = s.taboption('general', form.Value, 'description', _('Description'));
		o.modalonly = true;
		o.placeholder = _('e.g. NAS web interface');
		o.validate = fieldErrors.validator();

		o = s.taboption('general', form.ListValue, 'proto', _('Protocol'));
		o.value('tcp', 'TCP');
		o.value('udp', 'UDP');
		o.value('tcpudp', 'TCP+UDP');
		o.default = 'tcp';
		o.validate = fieldErrors.validator();

		o = s.taboption('general', form.Value, 'external_port', _('External port'),
			_('The port or range a-b that clients on the Internet connect to.'));
		o.datatype = 'portrange';
		o.rmempty = false;
		o.validate = fieldErrors.validator();

		o = s.taboption('general', form.Value, 'internal_ip', _('Device'),
			_('The LAN address of the device that serves the port.'));
		o.datatype = 'ip4addr("nomask")';
		o.rmempty = false;
		o.validate = fieldErrors.validator();
		Object.keys(hosts).sort().forEach(function(mac) {
			var h = hosts[mac] || {};

			L.toArray(h.ipaddrs || h.ipv4).forEach(function(ip) {
				o.value(ip, h.name ? '%s (%s)'.format(ip, h.name) : ip);
			});
		});
		o.textvalue = function(section_id) {
			var ip = uci.get('dualnat', section_id, 'internal_ip') || '?',
			    port = uci.get('dualnat', section_id, 'internal_port') ||
			           uci.get('dualnat', section_id, 'external_port') || '?';

			return '%h:%h'.format(ip, port);
		};

		o = s.taboption('general', form.Value, 'internal_port', _('Device port'),
			_('Empty: the same as the external port. A range must be as long as the external range.'));
		o.datatype = 'portrange';
		o.modalonly = true;
		o.validate = fieldErrors.validator();

		o = s.taboption('advanced', form.ListValue, 'target_gateway', _('Device gateway'),
			_('The default gateway the device itself uses. With the main router, the device sees the bypass router as the client.'));
		o.value('bypass', _('This bypass router'));
		o.value('main', _('The main router'));
		o.default = 'bypass';
		o.validate = fieldErrors.validator();

		o = s.taboption('advanced', form.ListValue, 'keep_source_ip', _('Keep client address'),
			_('Whether the device sees the real client address. Automatic keeps it where the gateway allows.'));
		o.value('auto', _('Automatic'));
		o.value('yes', _('Yes'));
		o.value('no', _('No'));
		o.default = 'auto';
		o.validate = fieldErrors.validator();

		o = s.taboption('advanced', form.Flag, 'hairpin', _('Hairpin'),
			_('LAN clients can use the public address too (needs the public address in Settings).'));
		o.default = '1';
		o.validate = fieldErrors.validator();

		o = s.taboption('advanced', form.DynamicList, 'allow_source', _('Allowed sources'),
			_('Only these addresses or networks may connect. Empty: everyone.'));
		o.datatype = 'ipmask4';
		o.validate = fieldErrors.validator();
		o.textvalue = function(section_id) {
			var list = L.toArray(uci.get('dualnat', section_id, 'allow_source'));
			return list.length ? '%h'.format(list.join(', ')) : _('anyone');
		};

		o = s.taboption('advanced', form.Flag, 'ipv6', _('IPv6'),
			_('Also open the device over IPv6 on the main router (a firewall rule to its own port; IPv6 has no NAT). Not for forwards with allowed sources.'));
		o.default = '1';
		o.modalonly = true;
		o.validate = fieldErrors.validator();

		o = s.taboption('advanced', form.Value, 'ipv6_suffix', _('IPv6 interface identifier'),
			_('The last 64 bits of the device\'s IPv6 address (::a:b:c:d). Empty: found from the neighbour table (by its MAC address).'));
		o.datatype = 'ip6addr';
		o.placeholder = '::1234:5678:9abc:def0';
		o.modalonly = true;
		o.validate = fieldErrors.validator();

		o = s.taboption('advanced', form.Value, 'bypass_port', _('Port on this router'),
			_('The port the main router forwards to on this router. Empty: the external port, or a free one when this router serves that port itself.'));
		o.datatype = 'portrange';
		o.modalonly = true;
		o.validate = fieldErrors.validator();

		this.map = m;
		this.section = s;

		return m.render();
	}
});
