'use strict';
'require baseclass';
'require rpc';
'require ui';

/*
 * Shared by the dualnat views: the calls to the ubus object "dualnat" (the
 * daemon /etc/init.d/dualnat runs), copying to the clipboard, severity marks,
 * the reason of an invalid field as text below it, the backend's field errors
 * on form options, and what a failed call means (the service does not answer,
 * or the login may not call the method).
 *
 * python-ubus accepts a call only with exactly the declared arguments; uhttpd
 * adds ubus_rpc_session to every call, so each declaration below lists the
 * method's own arguments and every caller passes all of them ("" = default).
 * Errors of the API are replies too: {"errors": {field: [message]}, "status"}.
 */

/* The UI language as dualnat names it (zh_Hans, zh-cn → zh; ja → ja; else en). */
function uiLang() {
	var lang = String((L.env && L.env.lang) || document.documentElement.getAttribute('lang') || 'en').toLowerCase();

	if (lang.indexOf('zh') == 0)
		return 'zh';

	return (lang.indexOf('ja') == 0) ? 'ja' : 'en';
}

/* A method of the ubus object "dualnat": every method also takes `lang`, the language of
 * the sentences in its answer; the call adds the UI's (instructions name it themselves). */
function declare(method, params) {
	params = params || [];

	var call = rpc.declare({
		object: 'dualnat',
		method: method,
		params: params.indexOf('lang') < 0 ? params.concat([ 'lang' ]) : params,
		expect: { '': {} },
		reject: true
	});

	if (params.indexOf('lang') >= 0)
		return call;

	return function() {
		return call.apply(null, Array.prototype.slice.call(arguments, 0, params.length).concat([ uiLang() ]));
	};
}

/* The methods of backend/dualnat/ubus/methods.py (a test keeps the two lists equal). */
var callStatus = declare('status'),
    callGetConfig = declare('get_config'),
    callCheckConfig = declare('check_config', [ 'config' ]),
    callCheckForward = declare('check_forward', [ 'id', 'forward' ]),
    callCheckForwards = declare('check_forwards', [ 'forwards' ]),
    callPlan = declare('plan'),
    callInstructions = declare('instructions', [ 'vendor', 'lang', 'format' ]),
    callApply = declare('apply', [ 'dry_run' ]),
    callRevert = declare('revert', [ 'dry_run' ]),
    callDoctor = declare('doctor'),
    callMainRouterStatus = declare('main_router_status'),
    callMainRouterPush = declare('main_router_push'),
    callSetMainRouterSecret = declare('set_main_router_secret', [ 'kind', 'secret' ]),
    callTestStart = declare('test_start', [ 'id', 'seconds', 'self_test' ]),
    callTestPoll = declare('test_poll', [ 'id' ]),
    callTestStop = declare('test_stop', [ 'id' ]);

var callHostHints = rpc.declare({
	object: 'luci-rpc',
	method: 'getHostHints',
	expect: { '': {} }
});

/* Main-router vendors with a profile in the backend (dualnat/vendors/<id>.toml). */
var VENDORS = [
	[ 'generic', _('Other router') ],
	[ 'ikuai', 'iKuai' ],
	[ 'xiaomi', 'Xiaomi / Redmi' ],
	[ 'huawei', 'Huawei / Honor' ],
	[ 'tplink', 'TP-Link' ],
	[ 'tplink_deco', 'TP-Link Deco' ],
	[ 'asus', 'ASUS / Asuswrt-Merlin' ],
	[ 'linksys', 'Linksys (Velop / Smart Wi-Fi)' ],
	[ 'netgear', 'Netgear (Nighthawk / Orbi)' ],
	[ 'isp_modem', _('ISP modem / ONT') ],
	[ 'openwrt', 'OpenWrt' ],
	[ 'pfsense', 'pfSense' ],
	[ 'opnsense', 'OPNsense' ]
];

/* Options of `config forward` and `config dualnat`, as the API names its fields. */
var FORWARD_FIELDS = [ 'enabled', 'proto', 'external_port', 'internal_ip', 'internal_port',
	'target_gateway', 'keep_source_ip', 'hairpin', 'allow_source', 'bypass_port', 'description', 'ipv6',
	'ipv6_suffix' ];
var SETTINGS_FIELDS = [ 'enabled', 'lan_interface', 'bypass_ip', 'main_router_ip',
	'main_router_vendor', 'public_address', 'masquerade', 'disable_redirects', 'firewall_drops_invalid', 'dhcp',
	'dhcp_dns', 'bypass_dhcp', 'proxy_coexist', 'main_router_control', 'main_router_url', 'main_router_user',
	'main_router_ca', 'main_router_insecure', 'main_router_lease' ];
var FLAGS = { enabled: true, hairpin: true, ipv6: true, disable_redirects: true, dhcp_dns: true, bypass_dhcp: true,
	main_router_insecure: true };
var LISTS = { allow_source: true };

/* Form values ('1'/'0', strings, arrays) as the API takes them; empty means default. */
function toApi(values, fields) {
	var out = {};

	fields.forEach(function(name) {
		var v = values[name];

		if (v == null || v === '' || (Array.isArray(v) && !v.length && !LISTS[name]))
			return;

		if (FLAGS[name])
			out[name] = (v === true || v === '1' || v === 1);
		else if (LISTS[name])
			out[name] = L.toArray(v).filter(function(item) { return item !== ''; });
		else
			out[name] = String(v);
	});

	return out;
}

/* An error key as the user reads it: "forwards.<id>.<field>" names the forward. */
function errorLabel(key) {
	var m = /^forwards\.([a-z0-9_]+)\.(.+)$/.exec(key);

	if (!m)
		return key;

	var forward = _('Forward "%s"').format(m[1]);

	return m[2].charAt(0) == '_' ? forward : '%s: %s'.format(forward, m[2]);
}

function flattenErrors(errors) {
	var lines = [];

	Object.keys(errors || {}).forEach(function(field) {
		L.toArray(errors[field]).forEach(function(msg) {
			lines.push(field.charAt(0) == '_' ? msg : '%s: %s'.format(errorLabel(field), msg));
		});
	});

	return lines;
}

/*
 * The errors of a check of every forward (check_forwards), split for the forward
 * `section_id`: `own` has its errors under their field names (as check_forward
 * keys them), `rest` every other error under its key ("forwards.<id>.<field>",
 * "config.<field>", "_...").
 */
function splitForwardErrors(errors, section_id) {
	var prefix = 'forwards.%s.'.format(section_id),
	    split = { own: {}, rest: {} };

	Object.keys(errors || {}).forEach(function(key) {
		if (key.indexOf(prefix) == 0 && key.length > prefix.length)
			split.own[key.substring(prefix.length)] = errors[key];
		else
			split.rest[key] = errors[key];
	});

	return split;
}

/*
 * A failed call that the router refused for lack of permission: uhttpd's
 * JSON-RPC error -32002 (the session's ACL does not list the method; LuCI
 * checks first that the session is still alive), or ubus status 6 from rpcd
 * (e.g. a uci write without uci write access). The error is LuCI's RPCError,
 * which carries the code only in its message.
 */
function permissionRefused(err) {
	var msg = String((err && err.message) || err || '');

	return /failed with (?:error -32002|ubus code 6)\b/.test(msg);
}

/* "object/method" of the call an RPCError is about ('' when its message does not say). */
function refusedCall(err) {
	var m = /RPC call to (\S+?) failed/.exec(String((err && err.message) || err || ''));

	return m ? m[1] : '';
}

/* The ubus methods of the ACL's write part (root/usr/share/rpcd/acl.d/luci-app-dualnat.json). */
var WRITE_METHODS = [ 'apply', 'revert', 'main_router_push', 'set_main_router_secret' ];

/* Why the router refused: the login may only view Dual NAT, or may not use it at all. */
function permissionText(err) {
	var call = refusedCall(err),
	    obj = call.split('/')[0],
	    method = call.substring(obj.length + 1),
	    write = (obj == 'dualnat' && WRITE_METHODS.indexOf(method) >= 0) ||
	            (obj == 'uci' && method != 'get' && method != 'changes');

	return (write
		? _('Permission denied: this login may view Dual NAT but not change it (the router refused %s). An administrator can grant write access to the ACL group luci-app-dualnat.')
		: _('Permission denied: this login may not use Dual NAT (the router refused %s). An administrator can grant access to the ACL group luci-app-dualnat.')
	).format(call || '?');
}

/* The reason of an invalid field, shown as text below it (see showValidation). */
function validationNote(field, message) {
	var frame = (field && field.closest) ? field.closest('[data-field]') : null;

	if (!frame)
		return;

	var holder = frame.querySelector('.cbi-value-field') || frame,
	    note = holder.querySelector('.dualnat-field-error');

	if (!message) {
		if (note)
			note.parentNode.removeChild(note);
		return;
	}

	if (!note) {
		var widget = holder.querySelector('[id="%s"]'.format(frame.getAttribute('data-field')));

		note = E('div', { 'class': 'cbi-value-description dualnat-field-error', 'role': 'alert' });
		holder.insertBefore(note, (widget && widget.parentNode === holder) ? widget.nextSibling : null);
	}

	note.textContent = message;
}

function fallbackCopy(text) {
	var area = E('textarea', {
		'style': 'position:fixed;top:0;left:0;width:1px;height:1px;opacity:0',
		'readonly': ''
	}, [ text ]);

	document.body.appendChild(area);
	area.select();

	var ok = false;

	try {
		ok = document.execCommand('copy');
	}
	catch (e) {
		ok = false;
	}

	document.body.removeChild(area);
	return ok;
}

/*
 * Backend field errors shown on form options. The options' validate() asks
 * this store, so LuCI marks the input invalid as it does for its own checks,
 * and showValidation() puts the message below the field. A value the user
 * changes is valid again until the next save checks it.
 */
var FieldErrors = baseclass.extend({
	__init__: function() {
		this.errors = {};
	},

	clear: function(section_id) {
		delete this.errors[section_id];
	},

	set: function(section_id, option, value, messages) {
		this.errors[section_id] = this.errors[section_id] || {};
		this.errors[section_id][option] = { value: value, messages: messages };
	},

	validator: function() {
		var store = this;

		return function(section_id, value) {
			var e = (store.errors[section_id] || {})[this.option];

			if (e && JSON.stringify(L.toArray(e.value)) == JSON.stringify(L.toArray(value)))
				return e.messages.join(' ');

			return true;
		};
	},

	/*
	 * Put `errors` on the options of `map` (one section): each marked invalid
	 * (its validator gives the message); the errors of no option are returned.
	 */
	show: function(map, section_id, errors) {
		var rest = {},
		    marked = [];

		this.clear(section_id);

		for (var field in errors) {
			var found = map.lookupOption(field, section_id),
			    messages = L.toArray(errors[field]);

			if (!found) {
				rest[field] = messages;
				continue;
			}

			this.set(section_id, field, found[0].formvalue(section_id), messages);
			marked.push(found[0]);
		}

		marked.forEach(function(opt) { opt.triggerValidation(section_id); });

		return rest;
	}
});

return baseclass.extend({
	__init__: function() {
		if (!document.querySelector('link[data-dualnat-css]'))
			document.head.appendChild(E('link', {
				'rel': 'stylesheet',
				'href': L.resource('dualnat/dualnat.css'),
				'data-dualnat-css': ''
			}));
	},

	callStatus: callStatus,
	callGetConfig: callGetConfig,
	callCheckConfig: callCheckConfig,
	callCheckForward: callCheckForward,
	callCheckForwards: callCheckForwards,
	callPlan: callPlan,
	callInstructions: callInstructions,
	callApply: callApply,
	callRevert: callRevert,
	callDoctor: callDoctor,
	callMainRouterStatus: callMainRouterStatus,
	callMainRouterPush: callMainRouterPush,
	callSetMainRouterSecret: callSetMainRouterSecret,
	callTestStart: callTestStart,
	callTestPoll: callTestPoll,
	callTestStop: callTestStop,
	callHostHints: callHostHints,
	uiLang: uiLang,

	/*
	 * Show why a field under `node` (a form's root) is invalid as text below
	 * it, while it is: LuCI marks the field and keeps the reason in its
	 * tooltip, which a user who does not hover or focus the field never sees.
	 * Follows LuCI's validation-failure and validation-success events.
	 */
	showValidation: function(node) {
		node.addEventListener('validation-failure', function(ev) {
			validationNote(ev.target, (ev.detail && ev.detail.message) ||
				ev.target.getAttribute('data-tooltip') || _('Invalid value'));
		});

		node.addEventListener('validation-success', function(ev) {
			validationNote(ev.target, null);
		});

		return node;
	},

	vendors: VENDORS,
	forwardFields: FORWARD_FIELDS,
	settingsFields: SETTINGS_FIELDS,
	FieldErrors: FieldErrors,
	flattenErrors: flattenErrors,
	splitForwardErrors: splitForwardErrors,

	vendorName: function(id) {
		for (var i = 0; i < VENDORS.length; i++)
			if (VENDORS[i][0] == id)
				return VENDORS[i][1];

		return id;
	},

	forwardToApi: function(values) {
		return toApi(values, FORWARD_FIELDS);
	},

	settingsToApi: function(values) {
		return toApi(values, SETTINGS_FIELDS);
	},

	/*
	 * A settings form's save (the Settings and Main router pages): fields LuCI
	 * finds invalid are left to LuCI's own save; otherwise the service checks
	 * `values()` (every setting, as Save would leave them) and LuCI stages the
	 * section only when nothing was refused: refusals are marked on the fields
	 * (`fieldErrors`) and the rest listed. Rejects when nothing was saved.
	 */
	saveSettings: function(view, ev, fieldErrors, section_id, values) {
		var section = view.section;

		fieldErrors.clear(section_id);

		var invalid = section.children.some(function(opt) {
			opt.triggerValidation(section_id);
			return opt.isActive(section_id) && !opt.isValid(section_id);
		});

		if (invalid)
			return view.super('handleSave', [ ev ]);

		return callCheckConfig(toApi(values(), SETTINGS_FIELDS)).then(L.bind(function(reply) {
			if (reply.errors) {
				var rest = fieldErrors.show(view.map, section_id, reply.errors);

				ui.addNotification(null, Object.keys(rest).length
					? this.errorList(_('The settings cannot be saved:'), rest)
					: E('p', {}, [ _('The settings cannot be saved: see the marked fields.') ]), 'danger');

				return Promise.reject(new Error('invalid settings'));
			}

			return view.super('handleSave', [ ev ]);
		}, this), L.bind(function(err) {
			ui.addNotification(null, this.serviceErrorText(err), 'danger');
			return Promise.reject(err);
		}, this));
	},

	/* handleSave and handleSaveApply of a view whose save(ev) rejects when nothing was
	 * saved (a refusal was shown already): Save & Apply applies only what was saved. */
	saveHandlers: {
		handleSave: function(ev) {
			return this.save(ev).catch(function() {});
		},

		handleSaveApply: function(ev, mode) {
			return this.save(ev).then(function() {
				return ui.changes.apply(mode == '0');
			}, function() {});
		}
	},

	/* Copy `text`; resolves to true when it reached the clipboard. */
	copyText: function(text) {
		if (navigator.clipboard && window.isSecureContext)
			return navigator.clipboard.writeText(text).then(function() { return true; },
				function() { return fallbackCopy(text); });

		return Promise.resolve(fallbackCopy(text));
	},

	copyButton: function(text, title) {
		var self = this;

		return E('button', {
			'class': 'cbi-button cbi-button-neutral dualnat-copy',
			'title': title || _('Copy to clipboard'),
			'data-copy': text,
			'click': function(ev) {
				var btn = ev.currentTarget;

				ev.preventDefault();

				return self.copyText(btn.getAttribute('data-copy')).then(function(ok) {
					btn.classList.add(ok ? 'dualnat-copied' : 'dualnat-copy-failed');
					btn.firstChild.data = ok ? _('Copied') : _('Select and copy by hand');
					window.setTimeout(function() {
						btn.classList.remove('dualnat-copied', 'dualnat-copy-failed');
						btn.firstChild.data = _('Copy');
					}, 1500);
				});
			}
		}, [ _('Copy') ]);
	},

	/* A severity as an icon and a plain word. */
	severity: function(sev) {
		var marks = {
			ok: [ '\u2714', _('OK') ],
			info: [ '\u2139', _('Note') ],
			warning: [ '\u26a0', _('Warning') ],
			error: [ '\u2716', _('Problem') ]
		};
		var m = marks[sev] || [ '?', sev ];

		return E('span', { 'class': 'dualnat-sev dualnat-sev-%s'.format(sev) }, [
			E('span', { 'class': 'dualnat-sev-icon', 'aria-hidden': 'true' }, m[0]),
			' ', m[1]
		]);
	},

	/* What went wrong when a call failed: no permission, or the service did not answer. */
	serviceErrorText: function(err) {
		if (permissionRefused(err))
			return E('div', { 'class': 'dualnat-permission-error' }, [
				E('p', {}, [ permissionText(err) ])
			]);

		return E('div', { 'class': 'dualnat-service-error' }, [
			E('p', {}, [ _('The dualnat service did not answer: %s').format(err && err.message ? err.message : err) ]),
			E('p', {}, [ _('Check that it runs: /etc/init.d/dualnat start; logread -e dualnat') ])
		]);
	},

	serviceError: function(err) {
		return E('div', { 'class': 'alert-message warning' }, [ this.serviceErrorText(err) ]);
	},

	/* The backend's errors as a list under a title (for ui.addNotification). */
	errorList: function(title, errors) {
		return E('div', { 'class': 'dualnat-errors' }, [
			E('strong', {}, [ title ]),
			E('ul', {}, flattenErrors(errors).map(function(line) { return E('li', {}, [ line ]); }))
		]);
	},

	errorBox: function(title, errors) {
		return E('div', { 'class': 'alert-message warning' }, [ this.errorList(title, errors) ]);
	}
});
