'use strict';
'require view';
'require form';
'require uci';
'require ui';
'require dualnat.common as dn';

/*
 * Port forwards: the `config forward` sections of /etc/config/dualnat as a
 * grid. Every add and edit is checked by the backend (the whole would-be
 * configuration) before LuCI stages it; its field errors appear on the
 * fields. Save & Apply goes through LuCI's apply with rollback, and the
 * service re-applies the firewall when the config changes.
 */

var fieldErrors = new dn.FieldErrors();

/* The forward as the modal (or the row) holds it, for the backend. */
function sectionValues(section, section_id) {
	var values = {};

	section.children.forEach(function(opt) {
		if (dn.forwardFields.indexOf(opt.option) < 0)
			return;

		values[opt.option] = (section.map.root && opt.isActive(section_id))
			? opt.formvalue(section_id) : opt.cfgvalue(section_id);

		if (values[opt.option] == null && opt.default != null)
			values[opt.option] = opt.default;
	});

	return values;
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

		var forward = dn.forwardToApi(sectionValues(modalSection, section_id));

		return dn.callCheckForward(section_id, forward).then(function(reply) {
			if (reply.errors) {
				var rest = fieldErrors.show(modalMap, section_id, reply.errors);

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

	/* An enable box ticked in the grid is checked like a modal save; rejects when not saved. */
	save: function(ev) {
		var map = this.map,
		    section = this.section,
		    checks = [];

		section.cfgsections().forEach(function(section_id) {
			var opt = section.getOption('enabled'),
			    now = opt.formvalue(section_id),
			    before = opt.cfgvalue(section_id) || opt.default;

			if (now == before || now != '1')
				return;

			var forward = dn.forwardToApi(sectionValues(section, section_id));

			checks.push(dn.callCheckForward(section_id, forward).then(function(reply) {
				if (reply.errors)
					throw new Error(_('Forward "%s" cannot be enabled: %s')
						.format(section_id, dn.flattenErrors(reply.errors).join('; ')));
			}));
		});

		return Promise.all(checks).then(L.bind(function() {
			return this.super('handleSave', [ ev ]);
		}, this)).catch(function(err) {
			ui.addNotification(null, E('p', {}, [ err.message ]), 'danger');
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
