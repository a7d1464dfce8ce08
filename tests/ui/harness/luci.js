/*
 * A small stand-in for LuCI's client runtime (luci.js, dom, rpc, uci, ui,
 * form, poll, view, validation), written for the dualnat UI tests.
 *
 * It implements only what the dualnat views use, with LuCI's semantics where
 * the views depend on them: 'require' directives and module instantiation,
 * the class system with this.super(), E()/dom.append (a lone string child is
 * HTML, strings in arrays are text), rpc.declare over JSON-RPC to /ubus,
 * uci staging through the 'uci' ubus object, form.Map/NamedSection/
 * GridSection with the modal editor, option validation (datatypes plus the
 * option's validate()), ui.changes.apply and poll.add. Access as LuCI handles
 * it: L.hasViewPermission() from the menu node (env.nodespec), a form.Map that
 * is read-only without uci write access to its config (its widgets, add,
 * delete and the dialog's Save disabled) and the footer disabled with it.
 */
'use strict';

(function(window, document) {
	var ENV = window.L_ENV || {};
	var catalog = ENV.translations || {};
	var modules = {};
	var loading = {};

	/* ---------------------------------------------------------------- format */

	function escapeHTML(s) {
		return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
			.replace(/"/g, '&#34;').replace(/'/g, '&#39;');
	}

	String.prototype.format = function() {
		var args = arguments, i = 0;

		return String(this).replace(/%(-?[0-9]*)(?:\.([0-9]+))?([sdhqfx%])/g, function(m, width, prec, type) {
			if (type == '%')
				return '%';

			var v = args[i++];

			switch (type) {
			case 's': return (v == null) ? '' : String(v);
			case 'd': return String(parseInt(v, 10) || 0);
			case 'f': return (+v).toFixed(prec != null ? +prec : 6);
			case 'x': return (+v).toString(16);
			case 'h': return (v == null) ? '' : escapeHTML(v);
			case 'q': return (v == null) ? '' : escapeHTML(v);
			}

			return m;
		});
	};

	function normalize(msg) {
		return String(msg).trim().replace(/[ \t\n]+/g, ' ');
	}

	window._ = function(msg) {
		var key = normalize(msg);
		return Object.prototype.hasOwnProperty.call(catalog, key) ? catalog[key] : msg;
	};

	/* ----------------------------------------------------------------- class */

	var superContext = {}, classIndex = 0;

	function Class() {}

	Class.extend = function(properties) {
		var Parent = this;
		var Cls = function() {
			if (!(this instanceof Cls))
				throw new TypeError('Constructor must not be called without "new"');

			Object.defineProperty(this, '__id__', { value: classIndex++ });

			/* like LuCI: an own __init__, else the nearest base class's through super() */
			if (Object.prototype.hasOwnProperty.call(Object.getPrototypeOf(this), '__init__'))
				this.__init__.apply(this, arguments);
			else
				this.super('__init__', arguments);
		};

		Cls.prototype = Object.create(Parent.prototype);
		Object.keys(properties || {}).forEach(function(k) { Cls.prototype[k] = properties[k]; });
		Object.defineProperty(Cls.prototype, 'constructor', { value: Cls, writable: true });
		Cls.extend = Class.extend;
		Cls.instantiate = function(args) {
			return new (Function.prototype.bind.apply(Cls, [ null ].concat(Array.prototype.slice.call(args))))();
		};
		Cls.isSubclass = function(other) {
			return other != null && (other === Cls || other.prototype instanceof Cls);
		};

		return Cls;
	};

	/* LuCI's order: the extra values first, then args from offset on. */
	Class.prototype.varargs = function(args, offset) {
		return Array.prototype.slice.call(arguments, 2).concat(Array.prototype.slice.call(args, offset));
	};

	/* Like LuCI: the base implementation relative to the instance's class. */
	Class.prototype.super = function(key, callArgs) {
		var slot = this.__id__ + '.' + key,
		    stack = superContext[slot],
		    proto;

		for (proto = Object.getPrototypeOf(stack ? stack[0] : Object.getPrototypeOf(this));
		     proto != null && !Object.prototype.hasOwnProperty.call(proto, key);
		     proto = Object.getPrototypeOf(proto)) {}

		if (proto == null)
			return null;

		var res = proto[key];

		if (arguments.length > 1 && key == '__init__' && typeof(res) != 'function')
			return null;

		if (arguments.length > 1) {
			if (typeof(res) != 'function')
				throw new ReferenceError(key + ' is not a function in base class');

			if (stack)
				stack.unshift(proto);
			else
				superContext[slot] = [ proto ];

			try {
				res = res.apply(this, Array.prototype.slice.call(callArgs || []));
			}
			finally {
				superContext[slot].shift();
				if (!superContext[slot].length)
					delete superContext[slot];
			}
		}

		return res;
	};

	/* ------------------------------------------------------------------- dom */

	var classInstances = new WeakMap();

	var dom = Class.extend({
		elem: function(e) {
			return (e != null && typeof(e) == 'object' && 'nodeType' in e);
		},

		parse: function(html) {
			var t = document.createElement('template');
			t.innerHTML = html;
			return t.content.firstChild;
		},

		matches: function(node, selector) {
			return this.elem(node) && node.nodeType == 1 && node.matches(selector);
		},

		parent: function(node, selector) {
			return this.elem(node) ? node.closest(selector) : null;
		},

		append: function(node, children) {
			if (!this.elem(node))
				return null;

			if (Array.isArray(children)) {
				for (var i = 0; i < children.length; i++) {
					if (this.elem(children[i]))
						node.appendChild(children[i]);
					else if (children[i] != null)
						node.appendChild(document.createTextNode(String(children[i])));
				}
				return node.lastChild;
			}
			else if (typeof(children) == 'function') {
				return this.append(node, children(node));
			}
			else if (this.elem(children)) {
				return node.appendChild(children);
			}
			else if (children != null) {
				node.innerHTML = String(children);
				return node.lastChild;
			}

			return null;
		},

		content: function(node, children) {
			if (!this.elem(node))
				return null;

			while (node.firstChild)
				node.removeChild(node.firstChild);

			return this.append(node, children);
		},

		attr: function(node, key, val) {
			if (typeof(key) == 'object') {
				for (var k in key)
					this.attr(node, k, key[k]);
				return;
			}

			if (val == null)
				return;

			if (typeof(val) == 'function')
				node.addEventListener(key, val);
			else if (typeof(val) == 'object')
				node.setAttribute(key, JSON.stringify(val));
			else
				node.setAttribute(key, String(val));
		},

		create: function(tag, attrs, children) {
			var node;

			if (this.elem(tag))
				node = tag;
			else if (Array.isArray(tag))
				node = document.createDocumentFragment(), children = tag, attrs = null;
			else if (tag.charAt(0) == '<')
				node = this.parse(tag);
			else
				node = document.createElement(tag);

			if (attrs != null && (Array.isArray(attrs) || typeof(attrs) != 'object' || this.elem(attrs))) {
				children = attrs;
				attrs = null;
			}

			if (attrs)
				this.attr(node, attrs);

			this.append(node, children);
			return node;
		},

		bindClassInstance: function(node, inst) {
			classInstances.set(node, inst);
		},

		findClassInstance: function(node) {
			for (; node != null; node = node.parentNode)
				if (classInstances.has(node))
					return classInstances.get(node);
			return null;
		},

		callClassMethod: function(node, method) {
			var inst = this.findClassInstance(node);
			if (inst == null || typeof(inst[method]) != 'function')
				return null;
			return inst[method].apply(inst, Array.prototype.slice.call(arguments, 2));
		}
	});

	var domInst = new dom();
	window.E = function() { return domInst.create.apply(domInst, arguments); };

	/* ------------------------------------------------------------------- rpc */

	var rpcId = 1;
	var STATUS_TEXT = {
		0: 'Command OK', 1: 'Invalid command', 2: 'Invalid argument', 3: 'Method not found',
		4: 'Resource not found', 5: 'No data received', 6: 'Permission denied', 7: 'Request timeout',
		8: 'Not supported', 9: 'Unspecified error', 10: 'Connection lost'
	};

	/* What LuCI's L.raise('RPCError', ...) throws. */
	function rpcError(message) {
		var e = new Error(message);
		e.name = 'RPCError';
		return e;
	}

	function ubusCall(object, method, args) {
		return fetch('/ubus', {
			method: 'POST',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify({ jsonrpc: '2.0', id: rpcId++, method: 'call',
				params: [ ENV.sessionid || '', object, method, args || {} ] })
		}).then(function(res) {
			if (!res.ok)
				throw new Error('RPC call to %s/%s failed with HTTP error %d'.format(object, method, res.status));
			return res.json();
		});
	}

	var rpc = Class.extend({
		declare: function(options) {
			return function() {
				var args = {}, params = options.params || [];

				for (var i = 0; i < params.length && i < arguments.length; i++)
					if (arguments[i] !== undefined)
						args[params[i]] = arguments[i];

				return ubusCall(options.object, options.method, args).then(function(msg) {
					var ret;

					if (msg.error)
						throw rpcError('RPC call to %s/%s failed with error %d: %s'.format(
							options.object, options.method, msg.error.code, msg.error.message));

					if (Array.isArray(msg.result)) {
						if (options.reject && msg.result[0] !== 0)
							throw rpcError('RPC call to %s/%s failed with ubus code %d: %s'.format(
								options.object, options.method, msg.result[0], STATUS_TEXT[msg.result[0]] || '?'));
						ret = (msg.result.length > 1) ? msg.result[1] : msg.result[0];
					}

					if (options.expect) {
						for (var key in options.expect) {
							if (ret != null && key != '')
								ret = ret[key];

							if (ret == null || Object.prototype.toString.call(ret) !=
							    Object.prototype.toString.call(options.expect[key]))
								ret = options.expect[key];

							break;
						}
					}

					if (typeof(options.filter) == 'function')
						ret = options.filter(ret, args);

					return ret;
				});
			};
		}
	});

	var rpcInst = new rpc();

	/* ------------------------------------------------------------------- uci */

	var uci = Class.extend({
		__init__: function() {
			this.state = { values: {}, creates: {}, changes: {}, deletes: {}, reorder: {} };
			this.loaded = {};
		},

		callGet: rpcInst.declare({ object: 'uci', method: 'get', params: [ 'config' ], expect: { values: {} } }),

		load: function(packages) {
			var self = this, tasks = [];

			L.toArray(packages).forEach(function(name) {
				if (self.loaded[name])
					return;

				tasks.push(self.callGet(name).then(function(values) {
					self.state.values[name] = values;
					self.loaded[name] = true;
					return name;
				}));
			});

			return Promise.all(tasks).then(function() { return L.toArray(packages); });
		},

		unload: function(packages) {
			var self = this;

			L.toArray(packages).forEach(function(name) {
				delete self.state.values[name];
				delete self.state.creates[name];
				delete self.state.changes[name];
				delete self.state.deletes[name];
				delete self.loaded[name];
			});
		},

		sections: function(conf, type, cb) {
			var sa = [], values = this.state.values[conf] || {}, creates = this.state.creates[conf] || {},
			    deletes = this.state.deletes[conf] || {};

			Object.keys(values).forEach(function(sid) {
				if (!deletes[sid] && (type == null || values[sid]['.type'] == type))
					sa.push(Object.assign({}, values[sid], (this.state.changes[conf] || {})[sid]));
			}, this);

			Object.keys(creates).forEach(function(sid) {
				if (type == null || creates[sid]['.type'] == type)
					sa.push(Object.assign({}, creates[sid]));
			});

			sa.sort(function(a, b) { return a['.index'] - b['.index']; });

			if (typeof(cb) == 'function')
				sa.forEach(function(s) { cb.call(this, s, s['.name']); }, this);

			return sa;
		},

		get: function(conf, sid, opt) {
			var v = this.state.values, n = this.state.creates, c = this.state.changes, d = this.state.deletes;

			if (sid == null)
				return null;

			if (n[conf] && n[conf][sid])
				return (opt == null) ? n[conf][sid] : n[conf][sid][opt];

			if (d[conf] && d[conf][sid] === true)
				return null;

			if (!v[conf] || !v[conf][sid])
				return null;

			if (opt == null) {
				var merged = Object.assign({}, v[conf][sid], (c[conf] || {})[sid]);
				for (var k in merged)
					if (merged[k] == null)
						delete merged[k];
				return merged;
			}

			if (c[conf] && c[conf][sid] && Object.prototype.hasOwnProperty.call(c[conf][sid], opt))
				return c[conf][sid][opt];

			if (d[conf] && d[conf][sid] && d[conf][sid][opt])
				return null;

			return v[conf][sid][opt];
		},

		set: function(conf, sid, opt, val) {
			var n = this.state.creates, c = this.state.changes, d = this.state.deletes;

			if (sid == null || opt == null || opt.charAt(0) == '.')
				return;

			if (n[conf] && n[conf][sid]) {
				if (val != null)
					n[conf][sid][opt] = val;
				else
					delete n[conf][sid][opt];
				return;
			}

			if (val != null && val !== '') {
				if (d[conf] && d[conf][sid] && d[conf][sid] !== true)
					delete d[conf][sid][opt];

				c[conf] = c[conf] || {};
				c[conf][sid] = c[conf][sid] || {};
				c[conf][sid][opt] = val;
			}
			else {
				if (c[conf] && c[conf][sid])
					delete c[conf][sid][opt];

				if (this.state.values[conf] && this.state.values[conf][sid] &&
				    this.state.values[conf][sid][opt] != null) {
					d[conf] = d[conf] || {};
					d[conf][sid] = (d[conf][sid] === true) ? true : (d[conf][sid] || {});
					if (d[conf][sid] !== true)
						d[conf][sid][opt] = true;
				}
			}
		},

		unset: function(conf, sid, opt) {
			return this.set(conf, sid, opt, null);
		},

		add: function(conf, type, name) {
			var n = this.state.creates, index = 1000;

			this.sections(conf).forEach(function(s) { index = Math.max(index, s['.index'] + 1); });

			var sid = name || ('new' + Math.random().toString(16).slice(2, 8));

			n[conf] = n[conf] || {};
			n[conf][sid] = { '.type': type, '.name': sid, '.create': name, '.anonymous': !name, '.index': index };

			return sid;
		},

		remove: function(conf, sid) {
			var n = this.state.creates, d = this.state.deletes;

			if (n[conf] && n[conf][sid]) {
				delete n[conf][sid];
				return;
			}

			d[conf] = d[conf] || {};
			d[conf][sid] = true;
		},

		move: function() { return true; },

		resolveSID: function(conf, sid) { return sid; },

		/* Send the staged changes to the 'uci' object (the session's delta). */
		save: function() {
			var self = this, tasks = [], configs = {};

			Object.keys(this.state.creates).forEach(function(conf) {
				configs[conf] = true;
				Object.keys(self.state.creates[conf]).forEach(function(sid) {
					var s = self.state.creates[conf][sid], values = {};

					for (var k in s)
						if (k.charAt(0) != '.')
							values[k] = s[k];

					tasks.push(ubusCall('uci', 'add', { config: conf, type: s['.type'], name: s['.create'], values: values }));
				});
			});

			Object.keys(this.state.changes).forEach(function(conf) {
				configs[conf] = true;
				Object.keys(self.state.changes[conf]).forEach(function(sid) {
					if (Object.keys(self.state.changes[conf][sid]).length)
						tasks.push(ubusCall('uci', 'set', { config: conf, section: sid, values: self.state.changes[conf][sid] }));
				});
			});

			Object.keys(this.state.deletes).forEach(function(conf) {
				configs[conf] = true;
				Object.keys(self.state.deletes[conf]).forEach(function(sid) {
					var d = self.state.deletes[conf][sid];

					if (d === true)
						tasks.push(ubusCall('uci', 'delete', { config: conf, section: sid }));
					else
						tasks.push(ubusCall('uci', 'delete', { config: conf, section: sid, options: Object.keys(d) }));
				});
			});

			return Promise.all(tasks).then(function() {
				var names = Object.keys(configs);
				self.unload(names);
				return self.load(names);
			}).then(function() {
				return ubusCall('uci', 'changes', {});
			}).then(function(msg) {
				var changes = (msg.result && msg.result[1] && msg.result[1].changes) || {}, n = 0;
				for (var c in changes)
					n += changes[c].length;
				uiInst.changes.setIndicator(n);
			});
		},

		apply: function(timeout) {
			return ubusCall('uci', 'apply', { rollback: true, timeout: timeout || 90 }).then(function(msg) {
				return msg.result ? msg.result[0] : 9;
			});
		},

		confirm: function() {
			return ubusCall('uci', 'confirm', {}).then(function(msg) {
				return msg.result ? msg.result[0] : 9;
			});
		},

		changes: function() {
			return ubusCall('uci', 'changes', {}).then(function(msg) {
				return (msg.result && msg.result[1] && msg.result[1].changes) || {};
			});
		}
	});

	var uciInst = new uci();

	/* ------------------------------------------------------------ validation */

	function parseIPv4(s) {
		var m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
		if (!m)
			return null;
		for (var i = 1; i <= 4; i++)
			if (+m[i] > 255)
				return null;
		return m.slice(1).map(Number);
	}

	var DATATYPES = {
		string: function() { return true; },
		uciname: function(v) { return /^[a-zA-Z0-9_]+$/.test(v) || _('valid UCI identifier'); },
		port: function(v) { return (/^\d+$/.test(v) && +v <= 65535) || _('valid port value'); },
		portrange: function(v) {
			var m = /^(\d+)-(\d+)$/.exec(v);
			if (m)
				return (+m[1] <= +m[2] && +m[2] <= 65535) || _('valid port or port range (port1-port2)');
			return (/^\d+$/.test(v) && +v <= 65535) || _('valid port or port range (port1-port2)');
		},
		ip4addr: function(v, nomask) {
			var m = nomask ? /^([0-9.]+)$/.exec(v) : /^([0-9.]+)(?:\/(\d{1,2}))?$/.exec(v);
			return (m && parseIPv4(m[1]) && (!m[2] || +m[2] <= 32)) ||
				(nomask ? _('valid IPv4 address') : _('valid IPv4 address or network'));
		},
		ipmask4: function(v) {
			var m = /^([0-9.]+)(?:\/(\d{1,2}))?$/.exec(v);
			return (m && parseIPv4(m[1]) && (!m[2] || +m[2] <= 32)) || _('valid IPv4 address with netmask');
		}
	};

	function datatypeCheck(expr, value) {
		var m = /^([a-z0-9_]+)(?:\((.*)\))?$/.exec(expr || 'string');
		if (!m || !DATATYPES[m[1]])
			throw new Error('Unsupported datatype in the test harness: ' + expr);
		var arg = m[2] ? m[2].replace(/^["']|["']$/g, '') : null;
		return DATATYPES[m[1]](value, arg);
	}

	/* ------------------------------------------------------------------- ui */

	var modalDiv = null;

	function addValidator(field, type, optional, vfunc) {
		var events = Array.prototype.slice.call(arguments, 4);

		var validate = function() {
			var value = (field.value != null) ? field.value : '', valid, message;

			/* like LuCI: a detached field (a widget not yet in its frame) is not checked */
			if (!field.closest('body') && !field.closest('[data-field]'))
				return true;

			field.classList.remove('cbi-input-invalid');

			if (value.length == 0)
				valid = optional ? true : _('non-empty value');
			else
				valid = datatypeCheck(type, value);

			if (valid === true && typeof(vfunc) == 'function')
				message = vfunc(value);
			else if (valid !== true)
				message = _('Expecting: %s').format(valid);
			else
				message = true;

			if (message !== true) {
				field.classList.add('cbi-input-invalid');
				field.setAttribute('data-tooltip', String(message));
				field.setAttribute('data-tooltip-style', 'error');
				field.dispatchEvent(new CustomEvent('validation-failure', { bubbles: true, detail: { message: String(message) } }));
				return false;
			}

			field.removeAttribute('data-tooltip');
			field.removeAttribute('data-tooltip-style');
			field.dispatchEvent(new CustomEvent('validation-success', { bubbles: true }));
			return true;
		};

		events.forEach(function(ev) { field.addEventListener(ev, validate); });
		validate();

		return validate;
	}

	var UIElement = Class.extend({
		getValue: function() {
			return this.node.querySelector('input,select').value;
		},

		setValue: function(value) {
			this.node.querySelector('input,select').value = value;
		},

		isValid: function() { return this.validState !== false; },

		getValidationError: function() { return this.validationError || ''; },

		triggerValidation: function() {
			if (typeof(this.vfunc) != 'function')
				return false;

			var was = this.isValid();
			this.vfunc();
			return was != this.isValid();
		},

		registerEvents: function(target, synevent, events) {
			var node = this.node;
			events.forEach(function(ev) {
				target.addEventListener(ev, function() {
					node.dispatchEvent(new CustomEvent(synevent, { bubbles: true }));
				});
			});
		},

		setUpdateEvents: function(target) {
			var o = this.options, events = Array.prototype.slice.call(arguments, 1);

			this.registerEvents(target, 'widget-update', events);

			if (!o.datatype && !o.validate)
				return;

			this.vfunc = addValidator.apply(null, [ target, o.datatype || 'string',
				o.hasOwnProperty('optional') ? o.optional : true, o.validate ].concat(events));

			this.node.addEventListener('validation-success', L.bind(function() {
				this.validState = true;
				this.validationError = '';
			}, this));

			this.node.addEventListener('validation-failure', L.bind(function(ev) {
				this.validState = false;
				this.validationError = ev.detail.message;
			}, this));

			this.validState = !target.classList.contains('cbi-input-invalid');
			this.validationError = target.getAttribute('data-tooltip') || '';
		},

		setChangeEvents: function(target) {
			var node = this.node;
			Array.prototype.slice.call(arguments, 1).forEach(function(ev) {
				target.addEventListener(ev, function() { node.setAttribute('data-changed', 'true'); });
			});
			this.registerEvents(target, 'widget-change', Array.prototype.slice.call(arguments, 1));
		}
	});

	var UITextfield = UIElement.extend({
		__init__: function(value, options) {
			this.value = value;
			this.options = Object.assign({ optional: true }, options);
		},

		render: function() {
			var frame = E('div', { 'id': this.options.id }),
			    input = E('input', {
				    'id': this.options.id ? 'widget.' + this.options.id : null,
				    'type': 'text',
				    'class': 'cbi-input-text',
				    'placeholder': this.options.placeholder,
				    'disabled': this.options.disabled ? '' : null,
				    'list': this.options.datalist || null
			    });

			input.value = (this.value != null) ? this.value : '';
			frame.appendChild(input);

			if (this.options.choices) {
				var list = E('datalist', { 'id': this.options.datalist });
				Object.keys(this.options.choices).forEach(function(k) {
					list.appendChild(E('option', { 'value': k }, [ String(this.options.choices[k]) ]));
				}, this);
				frame.appendChild(list);
			}

			this.node = frame;
			this.setUpdateEvents(input, 'keyup', 'blur', 'input');
			this.setChangeEvents(input, 'change', 'input');
			domInst.bindClassInstance(frame, this);
			return frame;
		}
	});

	var UICombobox = UITextfield.extend({
		__init__: function(value, choices, options) {
			this.super('__init__', [ value, Object.assign({}, options, {
				choices: choices, datalist: 'list.' + (options.id || Math.random())
			}) ]);
		}
	});

	var UISelect = UIElement.extend({
		__init__: function(value, choices, options) {
			this.value = value;
			this.choices = choices || {};
			this.options = Object.assign({ optional: true }, options);
		},

		render: function() {
			var keys = this.options.sort || Object.keys(this.choices),
			    select = E('select', { 'id': this.options.id ? 'widget.' + this.options.id : null,
				    'class': 'cbi-input-select', 'disabled': this.options.disabled ? '' : null }),
			    frame = E('div', { 'id': this.options.id }, select),
			    value = (this.value != null) ? String(this.value) : null;

			if (this.options.optional)
				select.appendChild(E('option', { 'value': '' }, [ this.options.placeholder || _('-- Please choose --') ]));

			keys.forEach(function(k) {
				select.appendChild(E('option', { 'value': k, 'selected': (k === value) ? '' : null },
					[ String(this.choices[k]) ]));
			}, this);

			if (value != null && keys.indexOf(value) < 0)
				select.appendChild(E('option', { 'value': value, 'selected': '' }, [ value ]));

			this.node = frame;
			this.setUpdateEvents(select, 'change', 'blur');
			this.setChangeEvents(select, 'change');
			domInst.bindClassInstance(frame, this);
			return frame;
		}
	});

	var UICheckbox = UIElement.extend({
		__init__: function(value, options) {
			this.value = value;
			this.options = Object.assign({ value_enabled: '1', value_disabled: '0' }, options);
		},

		render: function() {
			var input = E('input', { 'id': this.options.id ? 'widget.' + this.options.id : null,
				    'type': 'checkbox', 'disabled': this.options.disabled ? '' : null }),
			    frame = E('div', { 'id': this.options.id, 'class': 'cbi-checkbox' }, [
				    input, E('label', { 'for': input.id })
			    ]);

			input.checked = (this.value == this.options.value_enabled);
			this.node = frame;
			this.setUpdateEvents(input, 'click', 'blur');
			this.setChangeEvents(input, 'change');
			domInst.bindClassInstance(frame, this);
			return frame;
		},

		isChecked: function() {
			return this.node.querySelector('input').checked;
		},

		getValue: function() {
			return this.isChecked() ? this.options.value_enabled : this.options.value_disabled;
		},

		setValue: function(value) {
			this.node.querySelector('input').checked = (value == this.options.value_enabled);
		}
	});

	var UIDynamicList = UIElement.extend({
		__init__: function(values, choices, options) {
			this.values = L.toArray(values);
			this.options = Object.assign({ optional: true }, options);
		},

		render: function() {
			var disabled = !!this.options.disabled,
			    frame = E('div', { 'id': this.options.id, 'class': 'cbi-dynlist', 'disabled': disabled ? '' : null }),
			    input = E('input', { 'type': 'text', 'class': 'cbi-input-text', 'placeholder': this.options.placeholder,
				    'disabled': disabled ? '' : null }),
			    self = this;

			this.node = frame;
			this.values.forEach(function(v) { frame.appendChild(self.item(v)); });

			frame.appendChild(E('div', { 'class': 'add-item' }, [
				input,
				E('div', { 'class': 'cbi-button cbi-button-add', 'disabled': disabled ? '' : null, 'click': function() {
					if (!disabled && input.value !== '' && !input.classList.contains('cbi-input-invalid')) {
						frame.insertBefore(self.item(input.value), input.parentNode);
						input.value = '';
						self.node.dispatchEvent(new CustomEvent('widget-change', { bubbles: true }));
					}
				} }, [ '+' ])
			]));

			this.setUpdateEvents(input, 'keyup', 'blur');
			this.setChangeEvents(input, 'change');
			domInst.bindClassInstance(frame, this);
			return frame;
		},

		item: function(value) {
			var node = this.node, el = E('div', { 'class': 'item', 'data-value': value }, [
				E('span', {}, [ value ]),
				E('span', { 'class': 'remove', 'click': function() {
					if (node.hasAttribute('disabled'))
						return;
					el.parentNode.removeChild(el);
					node.dispatchEvent(new CustomEvent('widget-change', { bubbles: true }));
				} }, [ '×' ])
			]);
			return el;
		},

		getValue: function() {
			var items = this.node.querySelectorAll('.item'), out = [];
			items.forEach(function(i) { out.push(i.getAttribute('data-value')); });
			var input = this.node.querySelector('.add-item input');
			if (input.value !== '' && !input.classList.contains('cbi-input-invalid'))
				out.push(input.value);
			return out;
		}
	});

	var ui = Class.extend({
		AbstractElement: UIElement,
		Textfield: UITextfield,
		Combobox: UICombobox,
		Select: UISelect,
		Checkbox: UICheckbox,
		DynamicList: UIDynamicList,

		addValidator: addValidator,

		showModal: function(title, children) {
			var extra = Array.prototype.slice.call(arguments, 2);

			if (!modalDiv) {
				modalDiv = E('div', { 'id': 'modal_overlay' }, E('div', { 'class': 'modal', 'role': 'dialog' }));
				document.body.appendChild(modalDiv);
			}

			var dlg = modalDiv.firstElementChild;
			dlg.className = 'modal ' + extra.join(' ');
			domInst.content(dlg, []);

			if (title)
				dlg.appendChild(E('h4', {}, [ title ]));

			domInst.append(dlg, children);
			document.body.classList.add('modal-overlay-active');
			return dlg;
		},

		hideModal: function() {
			document.body.classList.remove('modal-overlay-active');
		},

		addNotification: function(title, children) {
			var classes = Array.prototype.slice.call(arguments, 2),
			    mc = document.getElementById('maincontent'),
			    msg = E('div', { 'class': 'alert-message ' + classes.join(' ') }, [
				    E('div', { 'class': 'notification-close', 'click': function() { msg.parentNode.removeChild(msg); } }, [ '×' ]),
				    title ? E('h4', {}, [ title ]) : '',
				    E('div', {})
			    ]);

			domInst.append(msg.lastChild, children);
			mc.insertBefore(msg, mc.firstChild);
			return msg;
		},

		createHandlerFn: function(ctx, fn) {
			var args = Array.prototype.slice.call(arguments, 2);

			if (typeof(fn) == 'string')
				fn = ctx[fn];

			return function(ev) {
				var btn = ev.currentTarget;
				btn.classList.add('spinning');
				btn.disabled = true;

				return Promise.resolve(fn.apply(ctx, args.concat([ ev ]))).finally(function() {
					btn.classList.remove('spinning');
					btn.disabled = false;
				});
			};
		},

		tabs: {
			initTabGroup: function(panes) {
				var list = Array.prototype.filter.call(panes, function(p) {
					return p.nodeType == 1 && p.hasAttribute('data-tab');
				});

				if (!list.length)
					return;

				var menu = E('ul', { 'class': 'cbi-tabmenu' }), active = null;

				list.forEach(function(pane, i) {
					var tab = E('li', { 'class': 'tabmenu-item-' + pane.getAttribute('data-tab') }, [
						E('a', { 'href': '#', 'click': function(ev) {
							ev.preventDefault();
							list.forEach(function(p) { p.setAttribute('data-tab-active', 'false'); });
							menu.querySelectorAll('li').forEach(function(li) { li.classList.remove('cbi-tab'); li.classList.add('cbi-tab-disabled'); });
							pane.setAttribute('data-tab-active', 'true');
							tab.classList.add('cbi-tab');
							tab.classList.remove('cbi-tab-disabled');
						} }, [ pane.getAttribute('data-tab-title') ])
					]);

					if (active == null && (pane.getAttribute('data-tab-active') == 'true' || i == list.length - 1))
						active = i;

					menu.appendChild(tab);
				});

				active = list.findIndex(function(p) { return p.getAttribute('data-tab-active') == 'true'; });
				if (active < 0)
					active = 0;

				list.forEach(function(p, i) {
					p.setAttribute('data-tab-active', i == active ? 'true' : 'false');
					menu.children[i].className = i == active ? 'cbi-tab' : 'cbi-tab-disabled';
					menu.children[i].setAttribute('data-tab', p.getAttribute('data-tab'));
				});

				list[0].parentNode.insertBefore(menu, list[0]);
			},

			updateTabs: function() {}
		},

		changes: {
			setIndicator: function(n) {
				var ind = document.getElementById('dualnat-changes-indicator');
				if (ind) {
					ind.textContent = n ? _('Unsaved Changes') + ': ' + n : '';
					ind.setAttribute('data-count', String(n));
				}
			},

			displayStatus: function(type, content) {
				var bar = document.getElementById('applyreboot-status');
				if (!bar) {
					bar = E('div', { 'id': 'applyreboot-status', 'class': 'alert-message' });
					document.getElementById('maincontent').prepend(bar);
				}
				bar.className = 'alert-message ' + (type || '');
				domInst.content(bar, content);
			},

			/* Apply the staged changes with rollback, then confirm (LuCI's flow, shortened). */
			apply: function(checked) {
				var self = this;

				self.displayStatus('notice spinning', E('p', {}, [ _('Starting configuration apply…') ]));

				return uciInst.apply(90).then(function(status) {
					if (status !== 0)
						throw new Error(_('Apply request failed with status <code>%h</code>').format(status));

					return checked ? uciInst.confirm() : 0;
				}).then(function() {
					self.setIndicator(0);
					self.displayStatus('notice', E('p', {}, [ _('Configuration changes applied.') ]));
					document.dispatchEvent(new CustomEvent('uci-applied'));
					window.setTimeout(function() { window.location.reload(); }, 600);
				}).catch(function(err) {
					self.displayStatus('warning', E('p', {}, [ String(err.message || err) ]));
				});
			}
		}
	});

	var uiInst = new ui();

	/* ------------------------------------------------------------------ form */

	function isEqual(x, y) {
		if (x != null && y != null && typeof(x) != typeof(y))
			return false;
		if ((x == null) != (y == null))
			return false;
		if (Array.isArray(x)) {
			if (x.length != y.length)
				return false;
			for (var i = 0; i < x.length; i++)
				if (!isEqual(x[i], y[i]))
					return false;
			return true;
		}
		return x == y;
	}

	var CBIElement = Class.extend({
		__init__: function(title, description) {
			this.title = title || '';
			this.description = description || '';
			this.children = [];
		},

		append: function(obj) { this.children.push(obj); },

		loadChildren: function() {
			var args = arguments;
			return Promise.all(this.children.map(function(c) { return c.load.apply(c, args); }));
		},

		renderChildren: function(tab_name) {
			var tasks = [], index = 0, extra = Array.prototype.slice.call(arguments, 1);

			this.children.forEach(function(c) {
				if (tab_name === null || c.tab === tab_name)
					tasks.push(c.render.apply(c, [ index++ ].concat(extra)));
			});

			return Promise.all(tasks);
		},

		stripTags: function(s) {
			var d = document.createElement('div');
			d.innerHTML = String(s || '');
			return d.textContent;
		},

		titleFn: function(attr) {
			var s = null, args = Array.prototype.slice.call(arguments, 1);

			if (typeof(this[attr]) == 'function')
				s = this[attr].apply(this, args);
			else if (typeof(this[attr]) == 'string')
				s = args.length ? ''.format.apply(this[attr], args) : this[attr];

			if (s != null)
				s = this.stripTags(String(s)).trim();

			return (s == null || s == '') ? null : s;
		}
	});

	var callSessionAccess = rpcInst.declare({
		object: 'session',
		method: 'access',
		params: [ 'scope', 'object', 'function' ],
		expect: { 'access': false }
	});

	var CBIMap = CBIElement.extend({
		__init__: function(config, title, description) {
			this.super('__init__', [ title, description ]);
			this.config = config;
			this.parsechain = [ config ];
			this.data = uciInst;
		},

		findElements: function() {
			var q = (arguments.length == 1) ? arguments[0] : '[%s="%s"]'.format(arguments[0], arguments[1]);
			return this.root.querySelectorAll(q);
		},

		findElement: function() {
			var res = this.findElements.apply(this, arguments);
			return res.length ? res[0] : null;
		},

		chain: function(config) {
			if (this.parsechain.indexOf(config) < 0)
				this.parsechain.push(config);
		},

		section: function(cls) {
			var obj = cls.instantiate([ this ].concat(Array.prototype.slice.call(arguments, 1)));
			this.append(obj);
			return obj;
		},

		/* Like LuCI: without `readonly` set, the map is read-only when the session may not
		 * write its config (rpcd's uci write access). */
		load: function() {
			var check = (this.readonly == null) ? callSessionAccess('uci', this.config, 'write') : true;

			return Promise.all([ check, this.data.load(this.parsechain) ]).then(L.bind(function(res) {
				if (res[0] === false)
					this.readonly = true;

				return this.loadChildren();
			}, this));
		},

		parse: function() {
			return Promise.all(this.children.map(function(c) { return c.parse(); }));
		},

		save: function(cb, silent) {
			this.checkDepends();

			return this.parse()
				.then(cb)
				.then(this.data.save.bind(this.data))
				.then(this.load.bind(this))
				.catch(function(e) {
					if (!silent) {
						uiInst.showModal(_('Save error'), [
							E('p', {}, [ _('An error occurred while saving the form:') ]),
							E('p', {}, [ E('em', { 'style': 'white-space:pre-wrap' }, [ e.message ]) ]),
							E('div', { 'class': 'right' }, [
								E('button', { 'class': 'cbi-button', 'click': uiInst.hideModal }, [ _('Dismiss') ])
							])
						]);
					}
					return Promise.reject(e);
				}).then(this.renderContents.bind(this));
		},

		reset: function() { return this.renderContents(); },

		render: function() { return this.load().then(this.renderContents.bind(this)); },

		renderContents: function() {
			var mapEl = this.root || (this.root = E('div', { 'id': 'cbi-%s'.format(this.config), 'class': 'cbi-map' }));

			domInst.bindClassInstance(mapEl, this);

			return this.renderChildren(null).then(L.bind(function(nodes) {
				domInst.content(mapEl, null);

				if (this.title)
					mapEl.appendChild(E('h2', { 'name': 'content' }, [ this.title ]));

				if (this.description)
					mapEl.appendChild(E('div', { 'class': 'cbi-map-descr' }, [ this.description ]));

				domInst.append(mapEl, nodes);
				this.checkDepends();

				mapEl.querySelectorAll('.cbi-section-node-tabbed').forEach(function(g) {
					uiInst.tabs.initTabGroup(g.childNodes);
				});

				return mapEl;
			}, this));
		},

		lookupOption: function(name, section_id, config_name) {
			var id = 'cbid.%s.%s.%s'.format(config_name || this.config, section_id, name),
			    elem = this.findElement('data-field', id),
			    inst = elem ? domInst.findClassInstance(elem) : null;

			return (inst instanceof CBIAbstractValue) ? [ inst, section_id ] : null;
		},

		checkDepends: function(ev, n) {
			var changed = false;

			this.children.forEach(function(s) {
				if (s.checkDepends(ev, n))
					changed = true;
			});

			if (changed && (n || 0) < 10)
				this.checkDepends(ev, (n || 10) + 1);
		},

		isDependencySatisfied: function(depends, config_name, section_id) {
			if (!depends.length)
				return true;

			return depends.some(L.bind(function(dep) {
				return Object.keys(dep).every(L.bind(function(name) {
					var res = this.lookupOption(name, section_id, config_name),
					    val = (res && res[0].isActive(res[1])) ? res[0].formvalue(res[1]) : null;
					return isEqual(val, dep[name]);
				}, this));
			}, this));
		}
	});

	var CBIAbstractSection = CBIElement.extend({
		__init__: function(map, sectionType, title, description) {
			this.super('__init__', [ title, description ]);
			this.sectiontype = sectionType;
			this.map = map;
			this.config = map.config;
			this.optional = true;
			this.addremove = false;
		},

		filter: function() { return true; },

		load: function() {
			var tasks = [];

			this.cfgsections().forEach(function(sid) {
				tasks.push(this.loadChildren(sid).then(L.bind(function(values) {
					values.forEach(function(v, i) { this.children[i].cfgvalue(sid, v); }, this);
				}, this)));
			}, this);

			return Promise.all(tasks);
		},

		parse: function() {
			var tasks = [];

			this.cfgsections().forEach(function(sid) {
				this.children.forEach(function(c) { tasks.push(c.parse(sid)); });
			}, this);

			return Promise.all(tasks);
		},

		tab: function(name, title, description) {
			if (this.tabs && this.tabs[name])
				throw 'Tab already declared';

			var entry = { name: name, title: title, description: description, children: [] };
			this.tabs = this.tabs || [];
			this.tabs.push(entry);
			this.tabs[name] = entry;
			this.tab_names = this.tab_names || [];
			this.tab_names.push(name);
		},

		option: function(cls) {
			if (!CBIAbstractValue.isSubclass(cls))
				throw new TypeError('Class must be a descendant of CBIAbstractValue');

			var obj = cls.instantiate([ this.map, this ].concat(Array.prototype.slice.call(arguments, 1)));
			this.append(obj);
			return obj;
		},

		taboption: function(tabName) {
			if (!this.tabs || !this.tabs[tabName])
				throw new ReferenceError('Associated tab not declared');

			var obj = this.option.apply(this, Array.prototype.slice.call(arguments, 1));
			obj.tab = tabName;
			this.tabs[tabName].children.push(obj);
			return obj;
		},

		cfgvalue: function(section_id, option) {
			for (var i = 0; i < this.children.length; i++)
				if (this.children[i].option == option)
					return this.children[i].cfgvalue(section_id);
			return null;
		},

		formvalue: function(section_id, option) {
			var rv = (arguments.length == 1) ? {} : null;

			for (var i = 0; i < this.children.length; i++) {
				var o = this.children[i],
				    v = this.map.root ? o.formvalue(section_id) : o.cfgvalue(section_id);

				if (rv)
					rv[o.option] = v;
				else if (o.option == option)
					return v;
			}

			return rv;
		},

		getUIElement: function(section_id, option) {
			var o = this.getOption(option);
			return o ? o.getUIElement(section_id) : null;
		},

		getOption: function(option) {
			for (var i = 0; i < this.children.length; i++)
				if (this.children[i].option == option)
					return this.children[i];
			return null;
		},

		renderUCISection: function(section_id) {
			if (!this.tabs)
				return this.renderOptions(null, section_id);

			return Promise.all(this.tab_names.map(function(t) {
				return this.renderOptions(t, section_id);
			}, this)).then(this.renderTabContainers.bind(this, section_id));
		},

		renderTabContainers: function(section_id, nodes) {
			var els = E([]);

			nodes.forEach(function(node, i) {
				var name = this.tab_names[i];
				els.appendChild(E('div', {
					'id': 'container.%s.%s.%s'.format(this.map.config, section_id, name),
					'data-tab': name,
					'data-tab-title': this.tabs[name].title,
					'data-tab-active': 'false'
				}, node));
			}, this);

			return els;
		},

		renderOptions: function(tab_name, section_id) {
			var in_table = (this instanceof CBITableSection);

			return this.renderChildren(tab_name, section_id, in_table).then(function(nodes) {
				var els = E([]);
				nodes.forEach(function(n) { els.appendChild(n); });
				return els;
			});
		},

		renderChildren: function(tab_name, section_id, in_table) {
			var tasks = [], index = 0;

			this.children.forEach(function(c) {
				if (tab_name === null || c.tab === tab_name)
					tasks.push(c.render(index++, section_id, in_table));
			});

			return Promise.all(tasks);
		},

		checkDepends: function(ev, n) {
			var changed = false;

			this.cfgsections().forEach(function(sid) {
				this.children.forEach(function(o) {
					var active = o.isActive(sid), ok = o.checkDepends(sid);

					if (active != ok) {
						o.setActive(sid, !active);
						active = !active;
						changed = true;
					}

					if (!n && active)
						o.triggerValidation(sid);
				});
			}, this);

			return changed;
		}
	});

	var CBITypedSection = CBIAbstractSection.extend({
		__name__: 'CBI.TypedSection',

		cfgsections: function() {
			return this.map.data.sections(this.map.config, this.sectiontype)
				.map(function(s) { return s['.name']; })
				.filter(L.bind(this.filter, this));
		},

		handleAdd: function(ev, name) {
			this.map.data.add(this.map.config, this.sectiontype, name);
			return this.map.save(null, true);
		},

		handleRemove: function(section_id) {
			this.map.data.remove(this.map.config, section_id);
			return this.map.save(null, true);
		},

		renderSectionAdd: function(extra_class) {
			if (!this.addremove)
				return E([]);

			var create = E('div', { 'class': 'cbi-section-create ' + (extra_class || '') }),
			    title = this.titleFn('addbtntitle');

			if (this.anonymous) {
				create.appendChild(E('button', { 'class': 'cbi-button cbi-button-add',
					'click': uiInst.createHandlerFn(this, 'handleAdd'),
					'disabled': this.map.readonly ? '' : null }, [ title || _('Add') ]));
				return create;
			}

			var name = E('input', { 'type': 'text', 'class': 'cbi-section-create-name',
				    'disabled': this.map.readonly ? '' : null }),
			    button = E('button', { 'class': 'cbi-button cbi-button-add', 'disabled': '',
				    'click': uiInst.createHandlerFn(this, function(ev) {
					    if (name.classList.contains('cbi-input-invalid'))
						    return;
					    return this.handleAdd(ev, name.value);
				    }) }, [ title || _('Add') ]);

			domInst.append(create, [ E('div', {}, name), button ]);

			if (this.map.readonly)
				return create;

			addValidator(name, 'uciname', true, function(v) {
				button.disabled = (v === '');
				return (v !== '') ? true : _('Expecting: %s').format(_('non-empty value'));
			}, 'blur', 'keyup', 'input');

			return create;
		},

		renderSectionPlaceholder: function() {
			return E('em', {}, [ _('This section contains no values yet') ]);
		},

		render: function() {
			var sids = this.cfgsections();

			return Promise.all(sids.map(function(sid) { return this.renderUCISection(sid); }, this))
				.then(this.renderContents.bind(this, sids));
		}
	});

	var CBITableSection = CBITypedSection.extend({
		__name__: 'CBI.TableSection',

		renderContents: function(sids, nodes) {
			var section = E('div', { 'id': 'cbi-%s-%s'.format(this.map.config, this.sectiontype),
				    'class': 'cbi-section cbi-tblsection' }),
			    table = E('table', { 'class': 'table cbi-section-table' });

			if (this.title)
				section.appendChild(E('h3', {}, [ this.title ]));

			if (this.description)
				section.appendChild(E('div', { 'class': 'cbi-section-descr' }, [ this.description ]));

			table.appendChild(this.renderHeaderRows());

			nodes.forEach(function(node, i) {
				var title = this.titleFn('sectiontitle', sids[i]) || sids[i],
				    tr = E('tr', { 'id': 'cbi-%s-%s'.format(this.map.config, sids[i]), 'class': 'tr cbi-section-table-row',
					    'data-sid': sids[i], 'data-title': title, 'data-section-id': sids[i] });

				tr.appendChild(E('td', { 'class': 'td cbi-section-table-titles-name' }, [ title ]));

				while (node.firstChild)
					tr.appendChild(node.firstChild);

				tr.appendChild(this.renderRowActions(sids[i]));
				table.appendChild(tr);
			}, this);

			if (!nodes.length)
				table.appendChild(E('tr', { 'class': 'tr cbi-section-table-row placeholder' },
					E('td', { 'class': 'td' }, this.renderSectionPlaceholder())));

			section.appendChild(table);
			section.appendChild(this.renderSectionAdd('cbi-tblsection-create'));
			domInst.bindClassInstance(section, this);
			return section;
		},

		renderHeaderRows: function() {
			var tr = E('tr', { 'class': 'tr cbi-section-table-titles' }, [ E('th', { 'class': 'th' }, [ _('Name') ]) ]);

			this.children.forEach(function(o) {
				if (!o.modalonly)
					tr.appendChild(E('th', { 'class': 'th cbi-section-table-cell', 'data-name': o.option }, [ o.title ]));
			});

			tr.appendChild(E('th', { 'class': 'th cbi-section-table-cell cbi-section-actions' }));
			return tr;
		},

		renderRowActions: function(section_id, more_label) {
			var td = E('td', { 'class': 'td cbi-section-table-cell nowrap cbi-section-actions' }, E('div'));

			if (more_label)
				td.firstChild.appendChild(E('button', { 'class': 'cbi-button cbi-button-edit', 'title': more_label,
					'click': uiInst.createHandlerFn(this, 'renderMoreOptionsModal', section_id) }, [ more_label ]));

			if (this.addremove)
				td.firstChild.appendChild(E('button', { 'class': 'cbi-button cbi-button-remove', 'title': _('Delete'),
					'click': uiInst.createHandlerFn(this, 'handleRemove', section_id),
					'disabled': this.map.readonly ? '' : null }, [ _('Delete') ]));

			return td;
		},

		handleModalCancel: function(modalMap, ev) {
			uiInst.hideModal();
			return Promise.resolve();
		},

		handleModalSave: function(modalMap, ev) {
			var activeMap = modalMap,
			    tasks = activeMap.save(null, true);

			while (activeMap.parent) {
				activeMap = activeMap.parent;
				tasks = tasks.then(L.bind(activeMap.load, activeMap)).then(L.bind(activeMap.reset, activeMap));
			}

			return tasks.then(L.bind(this.handleModalCancel, this, modalMap, ev, true)).catch(function() {});
		},

		addModalOptions: function() {},

		getActiveModalMap: function() {
			return document.querySelector('body.modal-overlay-active > #modal_overlay > .modal.cbi-modal > .cbi-map:not(.hidden)');
		},

		getPreviousModalMap: function() { return null; },

		cloneOptions: function(src, dest) {
			src.children.forEach(function(o1) {
				if (o1.modalonly === false)
					return;

				var o2 = dest.option(o1.constructor, o1.option, o1.title, o1.description);

				Object.keys(o1).forEach(function(k) {
					if ([ 'map', 'section', 'option', 'title', 'description' ].indexOf(k) < 0)
						o2[k] = o1[k];
				});
			});
		},

		renderMoreOptionsModal: function(section_id) {
			var parent = this.map,
			    m = new CBIMap(parent.config, null, null),
			    s = m.section(CBINamedSection, section_id, this.sectiontype);

			m.parent = parent;
			m.section = section_id;
			m.readonly = parent.readonly;
			s.tabs = this.tabs;
			s.tab_names = this.tab_names;
			this.cloneOptions(this, s);

			return Promise.resolve(this.addModalOptions(s, section_id)).then(function() {
				return m.render();
			}).then(L.bind(function(nodes) {
				var title = this.titleFn('modaltitle', section_id) || '%s - %s'.format(parent.title, section_id);

				uiInst.showModal(title, [
					nodes,
					E('div', { 'class': 'right' }, [
						E('button', { 'class': 'cbi-button', 'click': uiInst.createHandlerFn(this, 'handleModalCancel', m) }, [ _('Dismiss') ]), ' ',
						E('button', { 'class': 'cbi-button cbi-button-positive important',
							'click': uiInst.createHandlerFn(this, 'handleModalSave', m),
							'disabled': m.readonly ? '' : null }, [ _('Save') ])
					])
				], 'cbi-modal');
			}, this));
		}
	});

	var CBIGridSection = CBITableSection.extend({
		tab: function(name, title, description) {
			CBIAbstractSection.prototype.tab.call(this, name, title, description);
		},

		handleAdd: function(ev, name) {
			var sid = this.map.data.add(this.map.config, this.sectiontype, name);
			this.map.addedSection = sid;
			return this.renderMoreOptionsModal(sid);
		},

		handleModalCancel: function(modalMap, ev, isSaving) {
			if (this.map.addedSection != null && !isSaving)
				this.map.data.remove(this.map.config, this.map.addedSection);

			delete this.map.addedSection;
			return this.super('handleModalCancel', arguments);
		},

		renderUCISection: function(section_id) {
			return this.renderOptions(null, section_id);
		},

		renderChildren: function(tab_name, section_id, in_table) {
			var tasks = [], index = 0;

			this.children.forEach(function(o) {
				if (o.modalonly)
					return;

				if (o.editable)
					tasks.push(o.render(index++, section_id, in_table));
				else
					tasks.push(this.renderTextValue(section_id, o));
			}, this);

			return Promise.all(tasks);
		},

		renderTextValue: function(section_id, opt) {
			var value = opt.textvalue(section_id);

			return E('td', { 'class': 'td cbi-value-field', 'data-title': this.stripTags(opt.title).trim(),
				'data-name': opt.option, 'data-widget': 'CBI.DummyValue' }, (value != null) ? value : E('em', {}, [ _('none') ]));
		},

		renderRowActions: function(section_id) {
			return this.super('renderRowActions', [ section_id, _('Edit') ]);
		},

		parse: function() {
			var tasks = [];

			this.cfgsections().forEach(function(sid) {
				this.children.forEach(function(o) {
					if (o.editable && !o.modalonly)
						tasks.push(o.parse(sid));
				});
			}, this);

			return Promise.all(tasks);
		}
	});

	var CBINamedSection = CBIAbstractSection.extend({
		__name__: 'CBI.NamedSection',

		__init__: function(map, section_id, sectionType, title, description) {
			this.super('__init__', [ map, sectionType, title, description ]);
			this.section = section_id;
		},

		cfgsections: function() { return [ this.section ]; },

		render: function() {
			return Promise.all([
				this.map.data.get(this.map.config, this.section),
				this.renderUCISection(this.section)
			]).then(L.bind(function(data) {
				var el = E('div', { 'class': 'cbi-section' });

				if (this.title)
					el.appendChild(E('h3', {}, [ this.title ]));

				if (this.description)
					el.appendChild(E('div', { 'class': 'cbi-section-descr' }, [ this.description ]));

				if (data[0])
					el.appendChild(E('div', { 'id': 'cbi-%s-%s'.format(this.map.config, this.section),
						'class': this.tabs ? 'cbi-section-node cbi-section-node-tabbed' : 'cbi-section-node',
						'data-section-id': this.section }, data[1]));

				domInst.bindClassInstance(el, this);
				return el;
			}, this));
		}
	});

	var CBIAbstractValue = CBIElement.extend({
		__init__: function(map, section, option, title, description) {
			this.super('__init__', [ title, description ]);
			this.section = section;
			this.option = option;
			this.map = map;
			this.config = map.config;
			this.deps = [];
			this.rmempty = true;
			this.default = null;
			this.optional = false;
		},

		depends: function(field, value) {
			var d;
			if (typeof(field) == 'string')
				d = {}, d[field] = value;
			else
				d = field;
			this.deps.push(d);
		},

		transformChoices: function() {
			if (!this.keylist || !this.keylist.length)
				return null;
			var c = {};
			this.keylist.forEach(function(k, i) { c[k] = this.vallist[i]; }, this);
			return c;
		},

		checkDepends: function(section_id) {
			return this.map.isDependencySatisfied(this.deps, this.map.config, section_id);
		},

		cbid: function(section_id) {
			return 'cbid.%s.%s.%s'.format(this.map.config, section_id, this.option);
		},

		load: function(section_id) {
			return this.map.data.get(this.map.config, section_id, this.option);
		},

		getUIElement: function(section_id) {
			var node = this.map.findElement('id', this.cbid(section_id)),
			    inst = node ? domInst.findClassInstance(node) : null;
			return (inst instanceof UIElement) ? inst : null;
		},

		cfgvalue: function(section_id, set_value) {
			if (arguments.length == 2) {
				this.data = this.data || {};
				this.data[section_id] = set_value;
			}
			return this.data ? this.data[section_id] : null;
		},

		formvalue: function(section_id) {
			var e = this.getUIElement(section_id);
			return e ? e.getValue() : null;
		},

		textvalue: function(section_id) {
			var v = this.cfgvalue(section_id);
			if (v == null)
				v = this.default;
			if (Array.isArray(v))
				v = v.join(' ');
			return (v != null) ? '%h'.format(v) : null;
		},

		validate: function() { return true; },

		/* LuCI: the option's own `readonly`, else the map's. */
		isReadonly: function() {
			return (this.readonly != null) ? this.readonly : !!this.map.readonly;
		},

		isValid: function(section_id) {
			var e = this.getUIElement(section_id);
			return e ? e.isValid() : true;
		},

		getValidationError: function(section_id) {
			var e = this.getUIElement(section_id);
			return e ? e.getValidationError() : '';
		},

		isActive: function(section_id) {
			var f = this.map.findElement('data-field', this.cbid(section_id));
			return f != null && !f.classList.contains('hidden');
		},

		setActive: function(section_id, active) {
			var f = this.map.findElement('data-field', this.cbid(section_id));
			if (f && f.classList.contains('hidden') == active) {
				f.classList[active ? 'remove' : 'add']('hidden');
				return true;
			}
			return false;
		},

		triggerValidation: function(section_id) {
			var e = this.getUIElement(section_id);
			return e ? e.triggerValidation() : true;
		},

		parse: function(section_id) {
			var active = this.isActive(section_id);

			if (active && !this.isValid(section_id))
				return Promise.reject(new TypeError(_('Option "%s" contains an invalid input value.')
					.format(this.stripTags(this.title).trim() || this.option) + ' ' + this.getValidationError(section_id)));

			if (active) {
				var cval = this.cfgvalue(section_id), fval = this.formvalue(section_id);

				if (fval == null || fval === '' || (Array.isArray(fval) && !fval.length)) {
					if (this.rmempty || this.optional)
						return Promise.resolve(this.remove(section_id));

					return Promise.reject(new TypeError(_('Option "%s" must not be empty.')
						.format(this.stripTags(this.title).trim() || this.option)));
				}

				if (this.forcewrite || !isEqual(cval, fval))
					return Promise.resolve(this.write(section_id, fval));
			}
			else if (!this.retain) {
				return Promise.resolve(this.remove(section_id));
			}

			return Promise.resolve();
		},

		write: function(section_id, value) {
			return this.map.data.set(this.map.config, section_id, this.option, value);
		},

		remove: function(section_id) {
			return this.map.data.unset(this.map.config, section_id, this.option);
		}
	});

	var CBIValue = CBIAbstractValue.extend({
		__name__: 'CBI.Value',

		value: function(key, val) {
			this.keylist = this.keylist || [];
			this.keylist.push(String(key));
			this.vallist = this.vallist || [];
			this.vallist.push(domInst.elem(val) ? val : String(val != null ? val : key));
		},

		render: function(option_index, section_id, in_table) {
			return Promise.resolve(this.cfgvalue(section_id))
				.then(this.renderWidget.bind(this, section_id, option_index))
				.then(this.renderFrame.bind(this, section_id, in_table, option_index));
		},

		handleValueChange: function(section_id, state, ev) {
			if (typeof(this.onchange) != 'function')
				return;
			var value = this.formvalue(section_id);
			if (isEqual(value, state.previousValue))
				return;
			state.previousValue = value;
			this.onchange.call(this, ev, section_id, value);
		},

		renderFrame: function(section_id, in_table, option_index, nodes) {
			var el;

			if (in_table) {
				el = E('td', { 'class': 'td cbi-value-field', 'data-title': this.stripTags(this.title).trim(),
					'data-name': this.option, 'data-widget': this.__name__ }, E('div', {
					'id': 'cbi-%s-%s-%s'.format(this.map.config, section_id, this.option),
					'data-index': option_index,
					'data-depends': this.deps.length ? this.deps : null,
					'data-field': this.cbid(section_id)
				}));
			}
			else {
				el = E('div', { 'class': 'cbi-value', 'id': 'cbi-%s-%s-%s'.format(this.map.config, section_id, this.option),
					'data-index': option_index, 'data-depends': this.deps.length ? this.deps : null,
					'data-field': this.cbid(section_id), 'data-name': this.option, 'data-widget': this.__name__ });

				if (this.title) {
					el.appendChild(E('label', { 'class': 'cbi-value-title',
						'for': 'widget.cbid.%s.%s.%s'.format(this.map.config, section_id, this.option) }, [ this.title ]));
					el.appendChild(E('div', { 'class': 'cbi-value-field' }));
				}
			}

			(el.lastChild || el).appendChild(nodes);

			if (!in_table && this.description)
				(el.lastChild || el).appendChild(E('div', { 'class': 'cbi-value-description' }, [ this.description.trim() ]));

			if (this.deps.length)
				el.classList.add('hidden');

			el.addEventListener('widget-change', L.bind(this.map.checkDepends, this.map));
			el.addEventListener('widget-change', L.bind(this.handleValueChange, this, section_id, {}));
			domInst.bindClassInstance(el, this);
			return el;
		},

		renderWidget: function(section_id, option_index, cfgvalue) {
			var value = (cfgvalue != null) ? cfgvalue : this.default,
			    choices = this.transformChoices(),
			    opts = {
				    id: this.cbid(section_id),
				    optional: this.optional || this.rmempty,
				    datatype: this.datatype,
				    placeholder: this.placeholder,
				    validate: L.bind(this.validate, this, section_id),
				    disabled: this.isReadonly()
			    };

			var widget = choices ? new UICombobox(value, choices, opts) : new UITextfield(value, opts);
			return widget.render();
		}
	});

	var CBIDynamicList = CBIValue.extend({
		__name__: 'CBI.DynamicList',

		renderWidget: function(section_id, option_index, cfgvalue) {
			var value = (cfgvalue != null) ? cfgvalue : this.default;

			return new UIDynamicList(L.toArray(value), this.transformChoices(), {
				id: this.cbid(section_id),
				optional: true,
				datatype: this.datatype,
				placeholder: this.placeholder,
				validate: L.bind(this.validate, this, section_id),
				disabled: this.isReadonly()
			}).render();
		}
	});

	var CBIListValue = CBIValue.extend({
		__name__: 'CBI.ListValue',

		renderWidget: function(section_id, option_index, cfgvalue) {
			return new UISelect((cfgvalue != null) ? cfgvalue : this.default, this.transformChoices(), {
				id: this.cbid(section_id),
				sort: this.keylist,
				optional: this.optional,
				placeholder: this.placeholder,
				validate: L.bind(this.validate, this, section_id),
				disabled: this.isReadonly()
			}).render();
		},

		textvalue: function(section_id) {
			var v = this.cfgvalue(section_id);
			if (v == null)
				v = this.default;
			var i = (this.keylist || []).indexOf(String(v));
			return '%h'.format(i >= 0 ? this.vallist[i] : (v == null ? '' : v));
		}
	});

	var CBIFlagValue = CBIValue.extend({
		__name__: 'CBI.FlagValue',

		__init__: function() {
			this.super('__init__', arguments);
			this.enabled = '1';
			this.disabled = '0';
			this.default = this.disabled;
		},

		renderWidget: function(section_id, option_index, cfgvalue) {
			return new UICheckbox((cfgvalue != null) ? cfgvalue : this.default, {
				id: this.cbid(section_id),
				value_enabled: this.enabled,
				value_disabled: this.disabled,
				validate: L.bind(this.validate, this, section_id),
				disabled: this.isReadonly()
			}).render();
		},

		formvalue: function(section_id) {
			var e = this.getUIElement(section_id);
			return (e ? e.isChecked() : false) ? this.enabled : this.disabled;
		},

		textvalue: function(section_id) {
			var v = this.cfgvalue(section_id);
			if (v == null)
				v = this.default;
			return (v == this.enabled) ? _('Yes') : _('No');
		},

		parse: function(section_id) {
			if (this.isActive(section_id)) {
				var fval = this.formvalue(section_id);

				if (!this.isValid(section_id))
					return Promise.reject(new TypeError(_('Option "%s" contains an invalid input value.')
						.format(this.stripTags(this.title).trim() || this.option)));

				if (fval == this.default && (this.optional || this.rmempty))
					return Promise.resolve(this.remove(section_id));

				return Promise.resolve(this.write(section_id, fval));
			}
			else if (!this.retain) {
				return Promise.resolve(this.remove(section_id));
			}
		}
	});

	var CBIDummyValue = CBIValue.extend({
		__name__: 'CBI.DummyValue',

		renderWidget: function(section_id, option_index, cfgvalue) {
			var value = (this.value != null) ? this.value : (cfgvalue != null ? cfgvalue : this.default);
			return E('div', { 'id': this.cbid(section_id) }, [ value == null ? '' : String(value) ]);
		},

		parse: function() { return Promise.resolve(); },
		remove: function() {},
		write: function() {}
	});

	var form = Class.extend({
		Map: CBIMap,
		AbstractSection: CBIAbstractSection,
		TypedSection: CBITypedSection,
		TableSection: CBITableSection,
		GridSection: CBIGridSection,
		NamedSection: CBINamedSection,
		AbstractValue: CBIAbstractValue,
		Value: CBIValue,
		DynamicList: CBIDynamicList,
		ListValue: CBIListValue,
		Flag: CBIFlagValue,
		DummyValue: CBIDummyValue
	});

	/* ------------------------------------------------------------------ poll */

	var poll = Class.extend({
		__init__: function() {
			this.queue = [];
			this.scale = ENV.pollscale || 1;
		},

		add: function(fn, interval) {
			var self = this, entry = { fn: fn, interval: (interval || 5) * 1000 * this.scale };

			entry.timer = window.setInterval(function() {
				if (entry.running)
					return;
				entry.running = true;
				Promise.resolve(fn()).finally(function() { entry.running = false; });
			}, entry.interval);

			this.queue.push(entry);
			return true;
		},

		remove: function(fn) {
			this.queue = this.queue.filter(function(e) {
				if (e.fn === fn)
					window.clearInterval(e.timer);
				return e.fn !== fn;
			});
		},

		active: function() { return this.queue.length > 0; }
	});

	var pollInst = new poll();

	/* ------------------------------------------------------------------ view */

	var view = Class.extend({
		__init__: function() {
			var vp = document.getElementById('view');

			domInst.content(vp, E('div', { 'class': 'spinning' }, [ _('Loading view…') ]));

			return Promise.resolve(this.load())
				.then(L.bind(this.render, this))
				.then(L.bind(function(nodes) {
					domInst.content(vp, nodes);
					domInst.append(vp, this.addFooter());
					document.body.setAttribute('data-view-ready', 'true');
				}, this))
				.catch(function(err) {
					domInst.content(vp, E('pre', { 'class': 'alert-message error' }, [ String(err && err.stack || err) ]));
					document.body.setAttribute('data-view-ready', 'error');
					console.error(err);
				});
		},

		load: function() {},
		render: function() {},

		handleSave: function() {
			var tasks = [];

			document.getElementById('maincontent').querySelectorAll('.cbi-map').forEach(function(map) {
				tasks.push(domInst.callClassMethod(map, 'save'));
			});

			return Promise.all(tasks);
		},

		handleSaveApply: function(ev, mode) {
			return this.handleSave(ev).then(function() {
				return uiInst.changes.apply(mode == '0');
			});
		},

		handleReset: function() {
			var tasks = [];

			document.getElementById('maincontent').querySelectorAll('.cbi-map').forEach(function(map) {
				tasks.push(domInst.callClassMethod(map, 'reset'));
			});

			return Promise.all(tasks);
		},

		/* LuCI: read-only unless a form on the page is writable; a page without forms is
		 * read-only unless the menu node grants write (L.hasViewPermission()). */
		addFooter: function() {
			var footer = E([]),
			    hasmap = false,
			    readonly = true;

			document.getElementById('view').querySelectorAll('.cbi-map').forEach(function(map) {
				var m = domInst.findClassInstance(map);

				if (m) {
					hasmap = true;
					if (!m.readonly)
						readonly = false;
				}
			});

			if (!hasmap)
				readonly = !L.hasViewPermission();

			if (this.handleSaveApply || this.handleSave || this.handleReset)
				footer.appendChild(E('div', { 'class': 'cbi-page-actions' }, [
					this.handleSaveApply ? E('button', { 'class': 'cbi-button cbi-button-apply',
						'click': uiInst.createHandlerFn(this, 'handleSaveApply', '1'),
						'disabled': readonly ? '' : null }, [ _('Save & Apply') ]) : '', ' ',
					this.handleSave ? E('button', { 'class': 'cbi-button cbi-button-save',
						'click': uiInst.createHandlerFn(this, 'handleSave'),
						'disabled': readonly ? '' : null }, [ _('Save') ]) : '', ' ',
					this.handleReset ? E('button', { 'class': 'cbi-button cbi-button-reset',
						'click': uiInst.createHandlerFn(this, 'handleReset'),
						'disabled': readonly ? '' : null }, [ _('Reset') ]) : ''
				]));

			return footer;
		}
	});

	/* -------------------------------------------------------------------- L */

	function compile(name, source) {
		var lines = source.split(/\n/), args = [], names = [], i;

		for (i = 0; i < lines.length; i++) {
			var line = lines[i].trim(), m;

			if (line === '' || line == "'use strict';")
				continue;

			m = /^'require[ \t]+(\S+?)(?:[ \t]+as[ \t]+([a-zA-Z_]\S*))?';$/.exec(line);
			if (!m)
				break;

			args.push(m[1]);
			names.push(m[2] || m[1].replace(/^.*\./, ''));
		}

		return Promise.all(args.map(function(dep) { return L.require(dep); })).then(function(deps) {
			var fn = new Function(names.join(','), source + '\n//# sourceURL=/luci-static/resources/' + name.replace(/\./g, '/') + '.js');
			var res = fn.apply({}, deps);

			if (typeof(res) == 'function')
				res = new res();

			return res;
		});
	}

	var L = {
		env: ENV,
		dom: domInst,
		Class: Class,

		bind: function(fn, self) {
			var args = Array.prototype.slice.call(arguments, 2);
			return function() { return fn.apply(self, args.concat(Array.prototype.slice.call(arguments))); };
		},

		toArray: function(x) {
			if (x == null)
				return [];
			if (Array.isArray(x))
				return x;
			if (typeof(x) == 'object')
				return [ x ];
			var s = String(x).trim();
			return s == '' ? [] : s.split(/\s+/);
		},

		isObject: function(x) { return x != null && typeof(x) == 'object' && !Array.isArray(x); },

		resolveDefault: function(value, def) {
			return Promise.resolve(value).catch(function() { return def; });
		},

		error: function(type, msg) {
			var err = new Error(msg || type);
			err.name = type;
			throw err;
		},

		resource: function() {
			return '/luci-static/resources/' + Array.prototype.join.call(arguments, '/');
		},

		url: function() {
			return '/cgi-bin/luci/' + Array.prototype.join.call(arguments, '/');
		},

		naturalCompare: function(a, b) { return String(a).localeCompare(String(b), undefined, { numeric: true }); },

		hasSystemFeature: function() { return false; },

		/* LuCI: null without access to the menu node, false when its ACL groups are
		 * granted read only, true with write access. */
		hasViewPermission: function() {
			if (!L.isObject(ENV.nodespec) || !ENV.nodespec.satisfied)
				return null;

			return !ENV.nodespec.readonly;
		},

		require: function(name) {
			if (modules[name])
				return Promise.resolve(modules[name]);

			if (!loading[name])
				loading[name] = fetch('/luci-static/resources/' + name.replace(/\./g, '/') + '.js')
					.then(function(res) {
						if (!res.ok)
							throw new Error('Cannot load module ' + name + ': HTTP ' + res.status);
						return res.text();
					})
					.then(function(source) { return compile(name, source); })
					.then(function(mod) { modules[name] = mod; return mod; });

			return loading[name];
		},

		boot: function(viewName) {
			return L.require('view.' + viewName.replace(/\//g, '.'));
		}
	};

	modules.baseclass = Class;
	modules.dom = domInst;
	modules.rpc = rpcInst;
	modules.uci = uciInst;
	modules.ui = uiInst;
	modules.form = new form();
	modules.poll = pollInst;
	modules.view = view;
	modules.validation = {};

	window.L = L;
	window.LuCIHarness = { modules: modules, poll: pollInst };
})(window, document);
