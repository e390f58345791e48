import { render } from 'preact';
import './style.css';
import { loadWasm } from './model/doc';
import { app } from './app';
import { Root } from './ui/Root';
import { t } from './i18n';
import { loadTheme } from './theme';

async function start(): Promise<void> {
  const el = document.getElementById('app')!;
  el.textContent = t('app.loading');
  // Not awaited: the app starts with the stored theme and follows when the server answers.
  void loadTheme();
  try {
    await loadWasm();
    await app.boot();
  } catch (e) {
    const code = (e as { code?: string }).code ?? (e as Error).name ?? 'error';
    el.textContent = t('app.fatal', { msg: code });
    el.setAttribute('role', 'alert');
    return;
  }
  el.textContent = '';
  render(<Root />, el);
}

void start();
