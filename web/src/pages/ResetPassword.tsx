import { type FormEvent, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { ApiError, post } from "../api";

function useSubmit(action: (form: FormData) => Promise<void>) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await action(new FormData(event.currentTarget));
    } catch (exc) {
      setError(exc instanceof ApiError ? exc.message : String(exc));
    } finally {
      setBusy(false);
    }
  }
  return { error, busy, submit };
}

/** Ask for a reset token by mail (or, without SMTP, in the server's log for the operator). */
export function ForgotPassword() {
  const [sent, setSent] = useState<string | null>(null);
  const { error, busy, submit } = useSubmit(async (form) => {
    const answer = await post<{ message: string }>("/v1/auth/forgot-password", { email: form.get("email") });
    setSent(answer.message);
  });
  return (
    <main className="auth">
      <h1>Forgot your password?</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required />
        </label>
        {error && <p role="alert">{error}</p>}
        {sent && <p role="status">{sent}</p>}
        <button type="submit" disabled={busy}>
          Send a reset token
        </button>
      </form>
      <p>
        <Link to="/reset-password">I have a reset token</Link> · <Link to="/sign-in">Sign in</Link>
      </p>
    </main>
  );
}

/** Choose a new password with the token from the reset mail. */
export function ResetPassword() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const { error, busy, submit } = useSubmit(async (form) => {
    await post("/v1/auth/reset-password", { token: form.get("token"), new_password: form.get("password") });
    navigate("/sign-in?reset=done");
  });
  return (
    <main className="auth">
      <h1>Choose a new password</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          Reset token (from the mail)
          <input name="token" defaultValue={params.get("token") ?? ""} required autoComplete="one-time-code" />
        </label>
        <label>
          New password
          <input name="password" type="password" autoComplete="new-password" minLength={8} required />
        </label>
        {error && <p role="alert">{error}</p>}
        <button type="submit" disabled={busy}>
          Change password
        </button>
      </form>
    </main>
  );
}
