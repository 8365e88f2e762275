// A modal yes/no question in the console's own style (the browser's confirm() cannot be translated, styled or
// driven reliably by the browser test). Uses the <dialog id="confirm-dialog"> of index.html.

import { t } from './i18n.js';

export function confirmDialog(text, okLabelKey) {
  const dialog = document.getElementById('confirm-dialog');
  const message = dialog.querySelector('.dialog-text');
  const ok = dialog.querySelector('[data-role=ok]');
  const cancel = dialog.querySelector('[data-role=cancel]');
  message.textContent = text;
  ok.textContent = t(okLabelKey || 'common.ok');
  cancel.textContent = t('common.cancel');
  return new Promise((resolve) => {
    const finish = (answer) => {
      ok.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onOk = (e) => { e.preventDefault(); finish(true); };
    const onCancel = (e) => { e.preventDefault(); finish(false); };
    const onClose = () => finish(false); // Escape key
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    cancel.focus();
  });
}
