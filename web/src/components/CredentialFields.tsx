/**
 * The email and password fields of sign-in and sign-up. A new password is held to the API's minimum
 * length before it is sent; an existing one is sent as typed, whatever rule it was set under.
 */
export function CredentialFields({ newPassword = false }: { newPassword?: boolean }) {
  return (
    <>
      <label>
        Email
        <input name="email" type="email" autoComplete="username" required />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          autoComplete={newPassword ? "new-password" : "current-password"}
          minLength={newPassword ? 8 : undefined}
          required
        />
      </label>
    </>
  );
}
