declare module "*.sql" {
  const text: string;
  export default text;
}

// s3rver (test peer only) ships no types; the tests use run/close and the constructor options.
declare module "s3rver" {
  export default class S3rver {
    constructor(options: Record<string, unknown>);
    run(): Promise<{ address: string; port: number; family: string }>;
    close(): Promise<void>;
  }
}

// The admin console's generated files (scripts/build-console.ts), imported as text to be embedded.
declare module "*/dist/console/index.html" {
  const text: string;
  export default text;
}
declare module "*/dist/console/app.js" {
  const text: string;
  export default text;
}
declare module "*/dist/console/app.css" {
  const text: string;
  export default text;
}

// Files embedded with `with { type: "file" }`: the import is the file's path (in the compiled
// binary, inside its embedded file system).
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const path: string;
  export default path;
}
declare module "swagger-ui-dist/swagger-ui.css" {
  const path: string;
  export default path;
}
