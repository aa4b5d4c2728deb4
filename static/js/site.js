'use strict';
// The site's one script, loaded at the end of every page (no inline script: the pages run under a
// strict Content-Security-Policy).
{
    // The GOV.UK error summary: focus moves to it when the page loads, so a screen reader reads it
    // and a phone shows it first. Its links move focus to the field and scroll its label or legend
    // into view too, which the browser alone does not.
    const summary = document.querySelector('[data-error-summary]');
    if (summary) {
        summary.focus();
        summary.addEventListener('click', function(event) {
            const link = event.target.closest('a[href^="#"]');
            const input = link && document.getElementById(link.hash.slice(1));
            if (!input) {
                return;
            }
            event.preventDefault();
            const fieldset = input.closest('fieldset');
            const legend = fieldset && fieldset.querySelector('legend');
            const label = legend || document.querySelector(`label[for="${input.id}"]`);
            (label || input).scrollIntoView();
            input.focus({preventScroll: true});
        });
    }

    // Radios that reveal their own fields ("Someone already listed" / "Someone new"): without
    // JavaScript every field shows; with it, only the chosen option's.
    for (const group of document.querySelectorAll('[data-reveal-group]')) {
        const radios = group.querySelectorAll('input[type="radio"][data-reveals]');
        const update = function() {
            for (const radio of radios) {
                const panel = document.getElementById(radio.dataset.reveals);
                if (panel) {
                    panel.hidden = !radio.checked;
                }
            }
        };
        for (const radio of radios) {
            radio.addEventListener('change', update);
        }
        update();
    }
}
