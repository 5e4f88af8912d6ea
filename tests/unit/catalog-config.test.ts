import { ConfigError, loadConfig } from '../../src/config';

/** The image settings: a bad one stops start-up with one line naming it (exit 2 in main.ts). */
describe('image settings', () => {
  const fails = (env: NodeJS.ProcessEnv) => {
    try {
      loadConfig(env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).message;
    }
    throw new Error('no ConfigError');
  };

  test('defaults: 5 MB, kept in the database', () => {
    expect(loadConfig({}).images).toEqual({ maxBytes: 5 * 1024 * 1024, store: { kind: 'database' } });
  });

  test.each([
    [{ IMAGE_MAX_MB: '0' }, /^config: IMAGE_MAX_MB must be a whole number of megabytes from 1 to 20/],
    [{ IMAGE_STORE: 'disk' }, /^config: IMAGE_STORE must be database or s3/],
    [{ IMAGE_STORE: 's3' }, /^config: S3_ENDPOINT is required when IMAGE_STORE=s3$/],
    [{ IMAGE_STORE: 's3', S3_ENDPOINT: 'ftp://x' }, /^config: S3_ENDPOINT must be an http\(s\):\/\/ URL/],
    [{ IMAGE_STORE: 's3', S3_ENDPOINT: 'https://s3.example.com', S3_BUCKET: 'Bad_Bucket' }, /^config: S3_BUCKET must be a bucket name/],
    [{ IMAGE_STORE: 's3', S3_ENDPOINT: 'https://s3.example.com', S3_BUCKET: 'shop-images', S3_ACCESS_KEY_ID: 'AK' }, /^config: S3_SECRET_ACCESS_KEY is required/],
  ])('%p stops start-up naming the setting', (env, message) => {
    expect(fails(env)).toMatch(message);
  });

  test('a complete S3 store', () => {
    const config = loadConfig({ IMAGE_STORE: 's3', S3_ENDPOINT: 'https://s3.example.com/', S3_BUCKET: 'shop-images', S3_ACCESS_KEY_ID: 'AK', S3_SECRET_ACCESS_KEY: 'SK', IMAGE_MAX_MB: '8' });
    expect(config.images).toEqual({ maxBytes: 8 * 1024 * 1024, store: { kind: 's3', endpoint: 'https://s3.example.com', bucket: 'shop-images', region: 'us-east-1', accessKeyId: 'AK', secretAccessKey: 'SK', prefix: 'products/' } });
  });
});
