import type { z } from 'zod';

/** Field paths of a failed parse, dotted: `messages.0.content`. The root is `(root)`. */
export function issuePaths(error: z.ZodError): string[] {
  const paths = error.issues.map((issue) => (issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.')));
  return [...new Set(paths)];
}

/** One readable line: `messages.0.content: Invalid base64; username: Too small`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.')}: ${issue.message}`)
    .join('; ');
}
