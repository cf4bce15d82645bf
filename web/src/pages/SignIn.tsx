import { useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { ApiError, post } from "../api";
import { CredentialFields } from "../components/CredentialFields";

const LINK_ERRORS: Record<string, string> = {
  SIGN_IN_LINK_INVALID: "That sign-in link is invalid, already used or expired. Sign in with your password.",
};

export async function openSession(email: string, password: string) {
  await post("/v1/auth/session", { email, password });
}

export function SignIn() {
  const [params] = useSearchParams();
  const [error, setError] = useState<string | null>(LINK_ERRORS[params.get("error") ?? ""] ?? null);
  const [busy, setBusy] = useState(false);
  const navigate = useNavigate();
  const queryClient = useQueryClient();

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await openSession(String(form.get("email")), String(form.get("password")));
      queryClient.clear();
      navigate("/generate");
    } catch (exc) {
      setError(exc instanceof ApiError ? exc.message : String(exc));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="auth">
      <h1>Sign in to pixelmill</h1>
      <form onSubmit={(e) => void submit(e)}>
        <CredentialFields />
        {error && <p role="alert">{error}</p>}
        {params.get("reset") === "done" && <p role="status">Your password has been changed: sign in with the new one.</p>}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <p>
        No account? <Link to="/sign-up">Sign up</Link> · <Link to="/forgot-password">Forgot your password?</Link>
      </p>
    </main>
  );
}
