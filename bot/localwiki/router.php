<?php
// The router of PHP's built-in server for the local wiki (`php -S ... -t MEDIAWIKI_DIR router.php`).
// LocalWiki.install() copies it into the wiki's directory, so __DIR__ is that directory;
// DOCUMENT_ROOT is MediaWiki's (the -t option).
// Uploaded files are served from the wiki's images/; a missing thumbnail goes to MediaWiki's
// thumb_handler.php (which renders it, as on Commons); everything else falls through to MediaWiki.
$path = urldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH));
if (strpos($path, '/images/') === 0) {
    $file = __DIR__ . $path;
    if (is_file($file)) {
        $types = ['jpg' => 'image/jpeg', 'jpeg' => 'image/jpeg', 'png' => 'image/png',
                  'gif' => 'image/gif', 'webp' => 'image/webp', 'svg' => 'image/svg+xml',
                  'webm' => 'video/webm', 'ogv' => 'video/ogg', 'ogg' => 'application/ogg',
                  'mpg' => 'video/mpeg', 'mpeg' => 'video/mpeg', 'pdf' => 'application/pdf',
                  'tif' => 'image/tiff', 'tiff' => 'image/tiff'];
        $ext = strtolower(pathinfo($file, PATHINFO_EXTENSION));
        header('Content-Type: ' . ($types[$ext] ?? 'application/octet-stream'));
        header('Content-Length: ' . filesize($file));
        readfile($file);
        return true;
    }
    if (strpos($path, '/images/thumb/') === 0) {
        require $_SERVER['DOCUMENT_ROOT'] . '/thumb_handler.php';
        return true;
    }
    http_response_code(404);
    return true;
}
return false;
