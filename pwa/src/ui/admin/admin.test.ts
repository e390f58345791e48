import { describe, expect, it } from 'vitest';
import { auditQuery } from './AuditLog';
import { slug } from './slug';

describe('slug', () => {
  it('makes catalog ids from labels: lowercase, no accents, underscores', () => {
    expect(slug('Stad en Lande')).toBe('stad_en_lande');
    expect(slug('Ambulant team (sociaal domein)')).toBe('ambulant_team_sociaal_domein');
    expect(slug('Café-terras Één')).toBe('cafe_terras_een');
    expect(slug('  --  ')).toBe('');
    expect(slug('3e Kwartier')).toBe('e_kwartier'); // an id starts with a letter
  });
  it('is at most 48 characters and never ends in _', () => {
    expect(slug('x'.repeat(60))).toHaveLength(48);
    expect(slug(`${'x'.repeat(47)} y`)).toBe('x'.repeat(47));
  });
});

describe('auditQuery', () => {
  it('sends only the filters that are set, and a page size', () => {
    expect(auditQuery({ actor: '', action: '', from: '', to: '' }, null)).toBe('/api/v1/admin/audit?limit=50');
    expect(auditQuery({ actor: 'u1', action: ' admin. ', from: '', to: '' }, 42)).toBe('/api/v1/admin/audit?actor=u1&action=admin.&before=42&limit=50');
  });
  it('turns local days into a half-open ms range that includes the whole last day', () => {
    const q = new URLSearchParams(auditQuery({ actor: '', action: '', from: '2026-11-02', to: '2026-11-03' }, null).split('?')[1]);
    const from = Number(q.get('from'));
    const to = Number(q.get('to'));
    expect(new Date(from).getHours()).toBe(0);
    expect(new Date(from).getDate()).toBe(2);
    expect(to - from).toBe(2 * 86_400_000);
  });
});
