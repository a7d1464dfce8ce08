'use strict';
'require view';
'require form';
'require uci';
'require ui';
'require dualnat.common as dn';

/*
 * Settings: `config dualnat 'main'`. The backend checks the values (with every
 * forward) before LuCI stages them; Save & Apply then goes through LuCI's
 * apply with rollback and the service re-applies the firewall. Why a field is
 * invalid shows as text below it. Without write access to /etc/config/dualnat
 * LuCI's form makes the page read-only.
 */

var fieldErrors = new dn.FieldErrors();

return view.extend({
	load: function() {
		return Promise.all([
			uci.load('dualnat'),
			L.resolveDefault(uci.load('network'), null),
			L.resolveDefault(dn.callPlan(), {})
		]);
	},

	/* Check the section with the backend, then let LuCI stage it; rejects when not saved. */
	save: function(ev) {
		var section = this.section,
		    section_id = section.section;

		return dn.saveSettings(this, ev, fieldErrors, section_id, function() {
			var values = {};

			section.children.forEach(function(opt) {
				if (dn.settingsFields.indexOf(opt.option) >= 0 && opt.isActive(section_id))
					values[opt.option] = opt.formvalue(section_id);
			});

			return values;
		});
	},

	handleSave: dn.saveHandlers.handleSave,
	handleSaveApply: dn.saveHandlers.handleSaveApply,

	render: function(data) {
		var plan = data[2] || {},
		    net = plan.network || {},
		    m, s, o;

		m = new form.Map('dualnat', _('Dual NAT settings'),
			_('How this bypass router and the main router fit together. Addresses left empty come from the network configuration.'));

		s = m.section(form.NamedSection, 'main', 'dualnat');
		s.addremove = false;

		s.tab('general', _('General Settings'));
		s.tab('advanced', _('Advanced Settings'));

		o = s.taboption('general', form.Flag, 'enabled', _('Enable'),
			_('Off: dualnat plans no rules; Save & Apply removes them.'));
		o.default = '1';
		o.validate = fieldErrors.validator();

		o = s.taboption('general', form.ListValue, 'lan_interface', _('LAN interface'),
			_('The interface that connects this router to the main router\'s LAN.'));
		uci.sections('network', 'interface').forEach(function(iface) {
			if (iface['.name'] != 'loopback')
				o.value(iface['.name']);
		});
		if (!o.keylist || !o.keylist.length)
			o.value('lan');
		o.default = 'lan';
		o.validate = fieldErrors.validator();

		o = s.taboption('general', form.ListValue, 'main_router_vendor', _('Main router'),
			_('The brand of the main router: it decides the steps on the Main router page and some defaults.'));
		dn.vendors.forEach(function(v) { o.value(v[0], v[1]); });
		o.default = 'generic';
		o.validate = fieldErrors.validator();

		o = s.taboption('general', form.Value, 'public_address', _('Public address'),
			_('The main router\'s public IPv4 address or DNS name, for hairpin. "auto" looks it up every 5 minutes. Empty: no hairpin.'));
		o.value('auto', _('auto (look it up)'));
		o.validate = fieldErrors.validator();

		o = s.taboption('general', form.Value, 'bypass_ip', _('This router\'s address'),
			_('Only to override the address of the LAN interface.'));
		o.datatype = 'ip4addr("nomask")';
		o.placeholder = net.bypass_ip || '';
		o.validate = fieldErrors.validator();

		o = s.taboption('general', form.Value, 'main_router_ip', _('Main router address'),
			_('Only to override the gateway of the LAN interface.'));
		o.datatype = 'ip4addr("nomask")';
		o.placeholder = net.main_router_ip || '';
		o.validate = fieldErrors.validator();

		o = s.taboption('advanced', form.ListValue, 'masquerade', _('Masquerade'),
			_('Rewrite the source of LAN traffic leaving through this router. Automatic: on for main routers that run bridged Wi-Fi through their firewall (Linksys, Netgear), and when this router drops invalid packets with redirects off.'));
		o.value('auto', _('Automatic'));
		o.value('on', _('On'));
		o.value('off', _('Off'));
		o.default = 'auto';
		o.validate = fieldErrors.validator();

		o = s.taboption('advanced', form.Flag, 'disable_redirects', _('No ICMP redirects'),
			_('Stop this router from telling devices to bypass it.'));
		o.default = '1';
		o.validate = fieldErrors.validator();

		o = s.taboption('advanced', form.ListValue, 'firewall_drops_invalid', _('This router drops invalid packets'),
			_('Whether this router\'s firewall drops invalid forwarded packets. Automatic: firewall4\'s Drop invalid packets and the loaded rules. If it does and redirects are off, automatic masquerade is on, or LAN clients lose their TCP connections.'));
		o.value('auto', _('Automatic'));
		o.value('yes', _('Yes'));
		o.value('no', _('No'));
		o.default = 'auto';
		o.validate = fieldErrors.validator();

		o = s.taboption('advanced', form.ListValue, 'dhcp', _('DHCP'),
			_('How devices learn that this router is their gateway.'));
		o.value('auto', _('Automatic (from the main router)'));
		o.value('gateway', _('The main router hands out this router as gateway'));
		o.value('move', _('DHCP moves to this router'));
		o.value('off', _('Leave DHCP alone'));
		o.default = 'auto';
		o.validate = fieldErrors.validator();

		o = s.taboption('advanced', form.Flag, 'dhcp_dns', _('Hand out this router as DNS'));
		o.default = '1';
		o.validate = fieldErrors.validator();

		o = s.taboption('advanced', form.Flag, 'bypass_dhcp', _('Main router\'s DHCP is off'),
			_('Set once DHCP on the main router is switched off: this router\'s DHCP server is then switched on.'));
		o.default = '0';
		o.depends('dhcp', 'move');
		o.validate = fieldErrors.validator();

		o = s.taboption('advanced', form.ListValue, 'proxy_coexist', _('Transparent proxy'),
			_('Keep forwarded connections away from a transparent proxy on this router (OpenClash, PassWall, homeproxy, nikki). Automatic: for the proxy that is found, in its own settings; Off: leave the proxy alone (what dualnat added is removed).'));
		o.value('auto', _('Automatic'));
		o.value('off', _('Off'));
		o.default = 'auto';
		o.validate = fieldErrors.validator();

		this.map = m;
		this.section = s;

		return m.render().then(dn.showValidation);
	}
});
