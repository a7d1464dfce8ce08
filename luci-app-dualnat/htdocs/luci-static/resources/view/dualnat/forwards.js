'use strict';
'require view';
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
 */

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

var ForwardSection = form.GridSection.extend({
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

	handleSave: function(ev) {
		return this.save(ev).catch(function() {});
	},

	handleSaveApply: function(ev, mode) {
		return this.save(ev).then(function() {
			return ui.changes.apply(mode == '0');
		}, function() {});
	},

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
