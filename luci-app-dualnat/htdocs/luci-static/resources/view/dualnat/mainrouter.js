'use strict';
'require view';
'require dom';
'require ui';
'require dualnat.common as dn';

/*
 * Main router: what to enter on the main router's admin page, as numbered
 * steps for one vendor in English, Chinese or Japanese (the backend's
 * instructions, JSON schema 1). Every value to type and every block has a
 * copy button.
 */

var LANGS = [
	[ 'en', 'English' ],
	[ 'zh', '简体中文' ],
	[ 'ja', '日本語' ]
];

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

return view.extend({
	load: function() {
		return L.resolveDefault(dn.callGetConfig(), {});
	},

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

	renderInstructions: function(doc) {
		var nodes = [];

		if (doc.errors)
			return dn.errorBox(_('The settings for the main router cannot be worked out:'), doc.errors);

		nodes.push(E('h3', { 'class': 'dualnat-title' }, [ doc.title ]));
		nodes.push(E('p', { 'class': 'dualnat-intro' }, [ doc.intro ]));

		(doc.warnings || []).forEach(function(w) {
			nodes.push(E('div', { 'class': 'alert-message warning', 'data-warning-id': w.id }, [ w.text ]));
		});

		(doc.sections || []).forEach(L.bind(function(section) {
			var advice = /^(dhcp|dhcp_alt|hairpin|bridge)$/.test(section.id);

			nodes.push(E('div', {
				'class': 'cbi-section dualnat-section' + (advice ? ' dualnat-advice' : ''),
				'data-section-id': section.id
			}, [
				E('h3', {}, [ section.title ])
			].concat((section.steps || []).map(L.bind(this.renderStep, this)))));
		}, this));

		return E('div', { 'class': 'dualnat-instructions', 'data-lang': doc.lang, 'data-vendor': (doc.vendor || {}).id }, nodes);
	},

	refresh: function() {
		var target = this.target,
		    vendor = this.vendorSelect.value,
		    lang = this.langSelect.value;

		dom.content(target, E('p', { 'class': 'spinning' }, _('Loading…')));

		return dn.callInstructions(vendor, lang, 'json').then(L.bind(function(doc) {
			dom.content(target, this.renderInstructions(doc));
		}, this)).catch(function(err) {
			dom.content(target, dn.serviceError(err));
		});
	},

	render: function(config) {
		var configured = (config && config.main_router_vendor) || 'generic',
		    lang = dn.uiLang();

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

		var node = E('div', { 'class': 'cbi-map' }, [
			E('h2', {}, _('Main router')),
			E('div', { 'class': 'cbi-map-descr' },
				_('Enter these settings on the main router: the port forwards to this bypass router, the DHCP change and what NAT loopback needs. Values in boxes are exact; copy them.')),
			E('div', { 'class': 'cbi-section' }, [
				E('div', { 'class': 'cbi-value' }, [
					E('label', { 'class': 'cbi-value-title', 'for': 'dualnat-vendor' }, _('Main router')),
					E('div', { 'class': 'cbi-value-field' }, this.vendorSelect)
				]),
				E('div', { 'class': 'cbi-value' }, [
					E('label', { 'class': 'cbi-value-title', 'for': 'dualnat-lang' }, _('Language of the steps')),
					E('div', { 'class': 'cbi-value-field' }, this.langSelect)
				])
			]),
			this.target
		]);

		return this.refresh().then(function() { return node; });
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
