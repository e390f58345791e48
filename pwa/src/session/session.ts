// The user's session on this device: the tokens, their refresh and what
// happens when the server no longer accepts them. Every access token the app
// uses (sync WebSocket, REST calls, photo uploads) comes from here, and this is
// the one place where a refused or revoked session is handled:
// - refused (refresh token expired or unknown): `authNeeded` — the user logs
//   in again, nothing local is lost;
// - revoked (device signed out by an admin or by the user elsewhere, account
//   disabled): the host wipes the device (`revoked()`, once).
// Tokens are kept only in the encrypted local store (the host's `save`).

import { AuthError, login as restLogin, logout as restLogout, refresh as restRefresh, type Session } from '../sync/auth';
import { jwtExpiry, type ServerUser } from '../sync/frames';
import { ApiError } from '../net/api';

export type { Session };

/** Refresh the access token this long before it expires. */
export const REFRESH_MARGIN_MS = 30_000;

/** The REST calls of /api/v1/auth (sync/auth.ts). */
export interface AuthRest {
  login(username: string, password: string, deviceName: string): Promise<Session>;
  refresh(refreshToken: string): Promise<Session>;
  logout(refreshToken: string): Promise<void>;
}

const REST: AuthRest = { login: restLogin, refresh: restRefresh, logout: restLogout };

export interface SessionHost {
  /** Store the session (encrypted); resolves once it is committed. */
  save(s: Session): Promise<void>;
  /** The server no longer accepts this device: wipe it and tell the user (called once per session). */
  revoked(): void;
  /** Something the screen shows changed (`authNeeded`, the user). */
  changed(): void;
}

/** An access token, or why there is none: 'refused' (log in again) or 'revoked' (device wiped). */
export type TokenResult = string | 'refused' | 'revoked';

export class SessionAuth {
  session: Session | null = null;
  /** The server refused the session: the user must log in again. */
  authNeeded = false;
  private refreshing: Promise<TokenResult> | null = null;
  private revoking = false;

  constructor(
    private readonly host: SessionHost,
    private readonly rest: AuthRest = REST,
    private readonly now: () => number = Date.now,
  ) {}

  get user(): ServerUser | null {
    return this.session?.user ?? null;
  }

  /** The session stored on this device (at boot). */
  restore(s: Session | null): void {
    this.session = s;
  }

  /**
   * Log in. `prepare` runs with the new session before it is taken (e.g. to
   * refuse another user while work is unsent, or to wipe a previous user's
   * data); when it throws, the new refresh token is given back to the server.
   */
  async login(username: string, password: string, deviceName: string, prepare: (s: Session) => Promise<void>): Promise<Session> {
    const s = await this.rest.login(username, password, deviceName);
    try {
      await prepare(s);
    } catch (e) {
      void this.rest.logout(s.refreshToken);
      throw e;
    }
    this.session = s;
    this.authNeeded = false;
    this.revoking = false;
    await this.host.save(s);
    return s;
  }

  /** Tell the server to drop the refresh token (failures ignored: the local wipe happens anyway). */
  async logout(): Promise<void> {
    const s = this.session;
    if (s) await this.rest.logout(s.refreshToken);
  }

  /** Forget the session (the local data is being wiped). */
  clear(): void {
    this.session = null;
    this.refreshing = null;
  }

  /** The server's current view of the user (sync `ready` frame): kept, and stored. */
  updateUser(user: ServerUser): void {
    if (!this.session) return;
    this.session = { ...this.session, user };
    void this.host.save(this.session).catch(() => undefined);
  }

  /**
   * The server no longer accepts this device (close code 4003, or a refresh
   * answered `revoked`): the host wipes, once.
   */
  revoked(): void {
    if (this.revoking) return;
    this.revoking = true;
    this.host.revoked();
  }

  /**
   * A valid access token (refreshed first when it is nearly expired, or when
   * `force` is set after a 401), or why there is none. A network failure
   * while refreshing rejects (AuthError 'network'): try again later.
   */
  accessToken(force: boolean): Promise<TokenResult> {
    const s = this.session;
    if (!s) return Promise.resolve('refused');
    const exp = Math.min(s.accessExp, jwtExpiry(s.accessToken) ?? s.accessExp);
    if (!force && exp - REFRESH_MARGIN_MS > this.now()) return Promise.resolve(s.accessToken);
    // One refresh at a time: refresh tokens rotate, and presenting the old one
    // twice would make the server revoke the whole device.
    this.refreshing ??= this.refreshNow(s).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** An access token for an upload: null when a new login is needed. */
  async uploadToken(force: boolean): Promise<string | null> {
    const tok = await this.accessToken(force);
    return tok === 'refused' || tok === 'revoked' ? null : tok;
  }

  /** An access token for a REST call (the `Api`'s token source): rejects with an ApiError when there is none. */
  async restToken(force: boolean): Promise<string> {
    let tok: TokenResult;
    try {
      tok = await this.accessToken(force);
    } catch {
      throw new ApiError(0, 'network', 'no connection to the server');
    }
    if (tok === 'revoked') throw new ApiError(401, 'revoked', 'this device was signed out');
    if (tok === 'refused') throw new ApiError(401, 'session_ended', 'log in again');
    return tok;
  }

  private async refreshNow(s: Session): Promise<TokenResult> {
    let next: Session;
    try {
      next = await this.rest.refresh(s.refreshToken);
    } catch (e) {
      if (!(e instanceof AuthError && e.kind === 'refused')) throw e;
      if (e.code === 'revoked') {
        // The device was signed out or the user disabled: wipe, like close code 4003.
        this.revoked();
        return 'revoked';
      }
      this.authNeeded = true;
      this.host.changed();
      return 'refused';
    }
    // A logout or wipe meanwhile: do not bring the session back.
    if (!this.session) return next.accessToken;
    this.session = next;
    await this.host.save(next);
    return next.accessToken;
  }
}
