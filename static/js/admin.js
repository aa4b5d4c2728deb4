'use strict';
// Django's autocomplete (select2 4.0.13) names its box by the text shown in it and leaves the
// read-only textbox inside unnamed: an empty box has no name for screen readers (axe:
// aria-input-field-name). Name both by the field's label, or in a table row by the column
// header; the box also keeps saying who is chosen. Loaded after autocomplete.js, before it runs.
{
    const $ = window.django && django.jQuery;
    const select2 = $ && $.fn.djangoAdminSelect2;

    const labelOf = function(select) {
        const label = select.id && document.querySelector(`label[for="${select.id}"]`);
        if (label) {
            return label;
        }
        const cell = select.closest('td');
        const head = cell && cell.closest('table').tHead;
        return head ? head.rows[0].cells[cell.cellIndex] : null;
    };

    const name = function(select) {
        const label = labelOf(select);
        const box = $(select).next('.select2').find('.select2-selection')[0];
        const shown = box && box.querySelector('.select2-selection__rendered[id]');
        if (!label || !shown) {
            return;
        }
        label.id = label.id || `${select.id}-label`;
        shown.setAttribute('aria-labelledby', label.id);
        box.setAttribute('aria-labelledby', `${label.id} ${shown.id}`);
    };

    if (select2) {
        $.fn.djangoAdminSelect2 = function() {
            select2.call(this);
            this.each(function() {
                name(this);
            });
            return this;
        };
    }
}
